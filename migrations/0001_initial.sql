-- 0001_initial: the compilation cache (DESIGN.md, "Storage" and "Cache keys").
-- Forward-only: once landed, never edit this file; add 0002_... instead.

-- One row per compiled Bytecode unit, by its key (SHA-256 over source, dependencies' keys,
-- compiler identity and options).
CREATE TABLE units (
    key BLOB PRIMARY KEY,              -- 32-byte SHA-256 unit key
    source_path TEXT NOT NULL,         -- as given on the command line, for `cache ls`
    image BLOB NOT NULL,               -- LZ4 frame of the unit image
    image_size INTEGER NOT NULL,       -- uncompressed bytes
    image_sha256 BLOB NOT NULL,        -- SHA-256 of the uncompressed image, checked before use
    ribbon_build TEXT NOT NULL,        -- identity of the ribbon executable that wrote the row
    compile_us INTEGER NOT NULL,       -- parse + check + lower time this entry saves
    created_at INTEGER NOT NULL,       -- Unix seconds
    last_used_at INTEGER NOT NULL      -- Unix seconds; least recently used rows go first
) WITHOUT ROWID;

CREATE INDEX units_by_last_use ON units(last_used_at);

-- Machine code of one function of a unit, for one JIT identity and the minimal CPU feature set
-- the code needs (a blob loads only where the host has all of them).
CREATE TABLE machine_code (
    unit_key BLOB NOT NULL REFERENCES units(key) ON DELETE CASCADE,
    function_id INTEGER NOT NULL,
    jit_identity TEXT NOT NULL,
    features TEXT NOT NULL,            -- comma-separated feature names, sorted ('' = baseline)
    blob BLOB NOT NULL,                -- LZ4 frame of the serialized MachineCode
    blob_size INTEGER NOT NULL,
    blob_sha256 BLOB NOT NULL,
    jit_us INTEGER NOT NULL,           -- compile time this blob saves
    PRIMARY KEY (unit_key, function_id, jit_identity, features)
) WITHOUT ROWID;

-- Counters for `cache stats` (hits, misses, ...).
CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
