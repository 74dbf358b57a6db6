-- 0003_rowid_tables: units and machine_code become rowid tables with unique key indexes.
--
-- In a WITHOUT ROWID table the whole row is the b-tree key, large blobs included, and SQLite
-- reads a cell's entire payload (every overflow page) to compare it while seeking: looking up
-- any unit read the megabytes of the big images it passed on the way (a warm hello.rib cost
-- 800 page faults more than it should). Rows now live in rowid tables and the seeks go
-- through indexes that hold only the key columns.

CREATE TABLE units_new (
    id INTEGER PRIMARY KEY,
    key BLOB NOT NULL UNIQUE,          -- 32-byte SHA-256 unit key
    source_path TEXT NOT NULL,         -- absolute, for `cache ls`
    image BLOB NOT NULL,               -- LZ4 frame of the unit image
    image_size INTEGER NOT NULL,       -- uncompressed bytes
    image_sha256 BLOB NOT NULL,        -- SHA-256 of the uncompressed image, checked before use
    ribbon_build TEXT NOT NULL,        -- identity of the ribbon executable that wrote the row
    compile_us INTEGER NOT NULL,       -- parse + check + lower time this entry saves
    created_at INTEGER NOT NULL,       -- Unix seconds
    last_used_at INTEGER NOT NULL,     -- Unix seconds; least recently used rows go first
    factors TEXT NOT NULL DEFAULT ''   -- "name<TAB>value" lines of the key's factors
);
INSERT INTO units_new (key, source_path, image, image_size, image_sha256, ribbon_build, compile_us, created_at,
    last_used_at, factors)
SELECT key, source_path, image, image_size, image_sha256, ribbon_build, compile_us, created_at, last_used_at, factors
FROM units;

CREATE TABLE machine_code_new (
    id INTEGER PRIMARY KEY,
    unit_key BLOB NOT NULL REFERENCES units_new(key) ON DELETE CASCADE,
    function_id INTEGER NOT NULL,
    jit_identity TEXT NOT NULL,
    features TEXT NOT NULL,            -- comma-separated feature names, sorted ('' = baseline)
    blob BLOB NOT NULL,                -- LZ4 frame of the serialized MachineCode
    blob_size INTEGER NOT NULL,
    blob_sha256 BLOB NOT NULL,
    jit_us INTEGER NOT NULL,           -- compile time this blob saves
    UNIQUE (unit_key, function_id, jit_identity, features)
);
INSERT INTO machine_code_new (unit_key, function_id, jit_identity, features, blob, blob_size, blob_sha256, jit_us)
SELECT unit_key, function_id, jit_identity, features, blob, blob_size, blob_sha256, jit_us FROM machine_code;

DROP TABLE machine_code;
DROP TABLE units;
ALTER TABLE units_new RENAME TO units;
ALTER TABLE machine_code_new RENAME TO machine_code;
CREATE INDEX units_by_last_use ON units(last_used_at);
