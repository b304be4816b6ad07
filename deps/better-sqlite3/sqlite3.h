/* better-sqlite3's bundled header, for the amalgamation beside it (see sqlite3.c). */
#include "../../../../../deps/sqlite3/sqlite3.h"
