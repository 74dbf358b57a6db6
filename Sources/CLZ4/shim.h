// LZ4 frame format (liblz4-dev), for CacheCodecs: the cache's images are LZ4 frames, so the
// `lz4` command-line tool can read an exported blob.
#include <lz4frame.h>
