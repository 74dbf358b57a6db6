-- 0002_key_factors_and_source_digests: what `cache key --explain` compares, and the digests of
-- source files by their stat data, so a warm run need not read and hash an unchanged source.

-- The factors of each unit's key, one "name<TAB>value" line each, in hashing order (when a file
-- misses, `cache key --explain` names the factor that differs from the nearest entry).
ALTER TABLE units ADD COLUMN factors TEXT NOT NULL DEFAULT '';

-- SHA-256 of a source file as it was when it had exactly this stat data. A row is trusted only
-- when the file's mtime and ctime are at least 2 s older than recorded_ns, so that a write in
-- the same timestamp tick as the recording cannot go unnoticed ("racy git"); otherwise the
-- file is read and hashed again, and the row refreshed.
CREATE TABLE source_digests (
    path TEXT PRIMARY KEY,             -- absolute path
    device INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    ctime_ns INTEGER NOT NULL,
    digest BLOB NOT NULL,              -- SHA-256 of the file's bytes
    recorded_ns INTEGER NOT NULL       -- wall clock when the digest was taken
) WITHOUT ROWID;
