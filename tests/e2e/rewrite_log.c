/* Root on the vault host rewrites access-log entry N (with entry 0's bytes)
 * and recomputes the stored RFC 6962 tree above it, as the daemon would
 * have, so the database is self-consistent again. The nodes one append
 * completed are kept in that entry's row (audit_log.nodes: its leaf hash,
 * then each subtree it closed, 32 bytes a level), so node (level, idx) is
 * at byte 32 * level of entry ((idx + 1) << level) - 1. It also drops the
 * signed checkpoints, covering its tracks.
 *   rewrite_log DB N */
#include <openssl/evp.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static sqlite3 *db;

static long holder(int level, long idx) { return ((idx + 1) << level) - 1; }

static int node(int level, long idx, unsigned char out[32]) {
  sqlite3_stmt *q;
  sqlite3_prepare_v2(db,
                     "SELECT substr(nodes, 32 * ?1 + 1, 32) FROM audit_log "
                     "WHERE sequence = ?2",
                     -1, &q, 0);
  sqlite3_bind_int(q, 1, level);
  sqlite3_bind_int64(q, 2, holder(level, idx));
  int found = sqlite3_step(q) == SQLITE_ROW && sqlite3_column_bytes(q, 0) == 32;
  if (found) memcpy(out, sqlite3_column_blob(q, 0), 32);
  sqlite3_finalize(q);
  return found;
}

static void put(int level, long idx, const unsigned char h[32]) {
  sqlite3_stmt *q;
  sqlite3_prepare_v2(db,
                     "UPDATE audit_log SET nodes = CAST(substr(nodes, 1, "
                     "32 * ?2) || ?1 || substr(nodes, 32 * ?2 + 33) AS BLOB) "
                     "WHERE sequence = ?3 AND length(nodes) >= 32 * ?2 + 32",
                     -1, &q, 0);
  sqlite3_bind_blob(q, 1, h, 32, SQLITE_STATIC);
  sqlite3_bind_int(q, 2, level);
  sqlite3_bind_int64(q, 3, holder(level, idx));
  if (sqlite3_step(q) != SQLITE_DONE || sqlite3_changes(db) != 1) exit(3);
  sqlite3_finalize(q);
}

static void sha256(const unsigned char *a, size_t n, unsigned char out[32]) {
  unsigned int len = 32;
  EVP_Digest(a, n, out, &len, EVP_sha256(), 0);
}

int main(int argc, char **argv) {
  if (argc != 3 || sqlite3_open(argv[1], &db)) return 1;
  long n = atol(argv[2]);
  char sql[256];
  snprintf(sql, sizeof sql,
           "UPDATE audit_log SET entry = (SELECT entry FROM audit_log WHERE "
           "sequence = 0) WHERE sequence = %ld",
           n);
  if (sqlite3_exec(db, sql, 0, 0, 0)) return 2;
  sqlite3_stmt *q;
  sqlite3_prepare_v2(db, "SELECT entry FROM audit_log WHERE sequence = 0", -1,
                     &q, 0);
  if (sqlite3_step(q) != SQLITE_ROW) return 2;
  int len = sqlite3_column_bytes(q, 0);
  unsigned char *buf = malloc(len + 1);
  buf[0] = 0x00; /* RFC 6962 leaf prefix */
  memcpy(buf + 1, sqlite3_column_blob(q, 0), len);
  sqlite3_finalize(q);
  unsigned char h[32];
  sha256(buf, len + 1, h);
  put(0, n, h);
  for (int level = 1;; ++level) {
    long idx = n >> level;
    unsigned char in[65], left[32], right[32];
    if (!node(level, idx, h)) break; /* no complete subtree above */
    if (!node(level - 1, 2 * idx, left) || !node(level - 1, 2 * idx + 1, right))
      return 4;
    in[0] = 0x01;
    memcpy(in + 1, left, 32);
    memcpy(in + 33, right, 32);
    sha256(in, 65, h);
    put(level, idx, h);
  }
  return sqlite3_exec(db, "DELETE FROM audit_checkpoints", 0, 0, 0) ? 5 : 0;
}
