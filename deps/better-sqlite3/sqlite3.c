/*
 * The SQLite that better-sqlite3 builds, with fdatasync(2) where the platform has it.
 *
 * better-sqlite3 compiles its bundled amalgamation without HAVE_FDATASYNC, so SQLite's unix VFS
 * syncs every WAL commit with fsync(2), which also writes the file's new mtime through the
 * journal: 4.7-5.3 ms a commit on the disk this was measured on, against 1.8-3.5 ms for
 * fdatasync (bench/hot-paths.md, 2026-12-02). fdatasync is what SQLite's own build uses on Linux
 * and is as durable for the data and the size; synchronous=FULL is unchanged. The project's
 * .npmrc names this folder as better-sqlite3's custom amalgamation (its `sqlite3` build
 * variable), whose build then reads no compile options of its own: those below are the ones its
 * deps/defines.gypi gives the bundled copy (storage/sqlite-build.test.ts compares them), and the
 * source is that bundled copy, reached from where node-gyp copies this file
 * (build/Release/obj/gen/sqlite3/).
 */
#if defined(__linux__)
#define HAVE_FDATASYNC 1
#endif
#define HAVE_INT16_T 1
#define HAVE_INT32_T 1
#define HAVE_INT8_T 1
#define HAVE_STDINT_H 1
#define HAVE_UINT16_T 1
#define HAVE_UINT32_T 1
#define HAVE_UINT8_T 1
#define HAVE_USLEEP 1
#define SQLITE_DEFAULT_CACHE_SIZE -16000
#define SQLITE_DEFAULT_FOREIGN_KEYS 1
#define SQLITE_DEFAULT_MEMSTATUS 0
#define SQLITE_DEFAULT_WAL_SYNCHRONOUS 1
#define SQLITE_DQS 0
#define SQLITE_ENABLE_COLUMN_METADATA 1
#define SQLITE_ENABLE_DBSTAT_VTAB 1
#define SQLITE_ENABLE_DESERIALIZE 1
#define SQLITE_ENABLE_FTS3 1
#define SQLITE_ENABLE_FTS3_PARENTHESIS 1
#define SQLITE_ENABLE_FTS4 1
#define SQLITE_ENABLE_FTS5 1
#define SQLITE_ENABLE_GEOPOLY 1
#define SQLITE_ENABLE_JSON1 1
#define SQLITE_ENABLE_MATH_FUNCTIONS 1
#define SQLITE_ENABLE_PERCENTILE 1
#define SQLITE_ENABLE_RTREE 1
#define SQLITE_ENABLE_STAT4 1
#define SQLITE_ENABLE_UPDATE_DELETE_LIMIT 1
#define SQLITE_LIKE_DOESNT_MATCH_BLOBS 1
#define SQLITE_OMIT_DEPRECATED 1
#define SQLITE_OMIT_PROGRESS_CALLBACK 1
#define SQLITE_OMIT_SHARED_CACHE 1
#define SQLITE_OMIT_TCL_VARIABLE 1
#define SQLITE_SOUNDEX 1
#define SQLITE_THREADSAFE 2
#define SQLITE_TRACE_SIZE_LIMIT 32
#define SQLITE_USE_URI 0
#include "../../../../../deps/sqlite3/sqlite3.c"
