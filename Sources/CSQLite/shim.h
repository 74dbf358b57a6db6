// SQLite 3 (libsqlite3-dev), for SQLiteSupport. pkg-config "sqlite3".
#include <sqlite3.h>

/// SQLITE_TRANSIENT is `((sqlite3_destructor_type)-1)`, a macro Swift cannot import: SQLite
/// copies the bytes before the bind call returns, so the caller's buffer may go away.
static inline int csqlite_bind_blob_transient(sqlite3_stmt *stmt, int index, const void *bytes,
                                              sqlite3_uint64 count) {
    return sqlite3_bind_blob64(stmt, index, bytes, count, SQLITE_TRANSIENT);
}

/// sqlite3_bind_text64 with SQLITE_TRANSIENT and UTF-8 (see csqlite_bind_blob_transient).
static inline int csqlite_bind_text_transient(sqlite3_stmt *stmt, int index, const char *text,
                                              sqlite3_uint64 count) {
    return sqlite3_bind_text64(stmt, index, text, count, SQLITE_TRANSIENT, SQLITE_UTF8);
}

/// sqlite3_db_config is variadic, which Swift cannot call: switch off the checkpoint SQLite
/// runs when the last connection to a WAL database closes (a cache opened by every short-lived
/// process would otherwise copy and fsync the log on every exit).
static inline int csqlite_set_no_checkpoint_on_close(sqlite3 *db, int on) {
    return sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, on, (int *)0);
}
