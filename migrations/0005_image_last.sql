-- 0005_image_last: units (and machine_code, which refers to it) rebuilt with the image as the
-- last column of a unit's row.
--
-- SQLite stores a row as one record, its columns in order, and a big record continues over a
-- chain of overflow pages. Reading a column stored after `image` (image_size, compile_us and
-- image_chunks, which every warm lookup reads) walked the image's overflow chain to get past
-- it: about 115 pages for the 1.9 MB image of a 5,000-function program, some 30 page faults of
-- a 2.5 ms warm run. With `image` last, the other columns are in the row's first page.

CREATE TABLE units_new (
    id INTEGER PRIMARY KEY,
    key BLOB NOT NULL UNIQUE,          -- 32-byte SHA-256 unit key
    source_path TEXT NOT NULL,         -- absolute, for `cache ls`
    image_size INTEGER NOT NULL,       -- uncompressed bytes
    image_sha256 BLOB NOT NULL,        -- SHA-256 of the uncompressed image, checked before use
    ribbon_build TEXT NOT NULL,        -- identity of the ribbon executable that wrote the row
    compile_us INTEGER NOT NULL,       -- parse + check + lower time this entry saves
    created_at INTEGER NOT NULL,       -- Unix seconds
    last_used_at INTEGER NOT NULL,     -- Unix seconds; least recently used rows go first
    factors TEXT NOT NULL DEFAULT '',  -- "name<TAB>value" lines of the key's factors
    image_chunks BLOB,                 -- index of the chunks' frames in `image` (NULL: one frame)
    image BLOB NOT NULL                -- LZ4 frames of the unit image; last, see above
);
INSERT INTO units_new (id, key, source_path, image_size, image_sha256, ribbon_build, compile_us, created_at,
    last_used_at, factors, image_chunks, image)
SELECT id, key, source_path, image_size, image_sha256, ribbon_build, compile_us, created_at, last_used_at, factors,
    image_chunks, image
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
INSERT INTO machine_code_new (id, unit_key, function_id, jit_identity, features, blob, blob_size, blob_sha256, jit_us)
SELECT id, unit_key, function_id, jit_identity, features, blob, blob_size, blob_sha256, jit_us FROM machine_code;

DROP TABLE machine_code;
DROP TABLE units;
ALTER TABLE units_new RENAME TO units;
ALTER TABLE machine_code_new RENAME TO machine_code;
CREATE INDEX units_by_last_use ON units(last_used_at);
