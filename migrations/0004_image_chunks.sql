-- 0004_image_chunks: unit images stored in 64 KiB chunks, so a warm run reads, decompresses and
-- hash-checks only the parts of a unit it uses (Documentation/Cache.md, "Lazy loading").
--
-- image_chunks is NULL for rows written before this migration (they load whole); otherwise
-- `image` is the chunks' LZ4 frames one after another (`lz4 -d` still decodes it whole) and
-- image_chunks indexes them: "RIBNCHNK", u32 chunk size, u32 count, then per chunk u32 offset
-- and u32 length in `image` and the SHA-256 of its uncompressed bytes, then the SHA-256 of all
-- that precedes it. image_sha256 stays the SHA-256 of the whole uncompressed image.
ALTER TABLE units ADD COLUMN image_chunks BLOB;
