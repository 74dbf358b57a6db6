-- 0006_warm_code: which functions' machine code warm runs of a unit loaded (Documentation/Cache.md,
-- "Machine code"). Machine code loads a function at a time as functions are placed; a warm run
-- that loaded some not listed here adds them, once, and the next warm run fetches the listed
-- blobs in its lookup's read transaction and installs them in one mapping before `main`, instead
-- of one query and one mapping per function as the program runs. A hint only: an Id with no
-- machine code, or no function behind it, is skipped. A small table of its own, because a column
-- added to `units` would lie after the image, and rewriting a unit's row rewrites its image.
--
-- function_ids: u32 little-endian each, ascending, no repeats.
CREATE TABLE warm_code (
    unit_key BLOB NOT NULL REFERENCES units(key) ON DELETE CASCADE,
    jit_identity TEXT NOT NULL,
    function_ids BLOB NOT NULL,
    PRIMARY KEY (unit_key, jit_identity)
) WITHOUT ROWID;
