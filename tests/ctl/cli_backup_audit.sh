#!/usr/bin/env bash
# vaultctl backup/restore (a second vaultd on the restored store serves the
# same names, versions and values) and audit tail/verify (a row edited with
# the sqlite3 CLI is found, by sequence number).
set -u
. "${VT_SUPPORT:-$(dirname "$0")/../support}/vaultd.sh"
. "$(dirname "$0")/lib_cli.sh"
vt_setup
vt_start

# ---- some history to back up ----
printf 'pg-one' | vc set pg.password >/dev/null
vc rotate pg.password --generate 20 >/dev/null
vc rotate pg.password --generate 20 --charset ascii >/dev/null
printf 'redis\n\0x' | vc set redis.pass >/dev/null
printf 'gone' | vc set old.key >/dev/null
vc rm old.key >/dev/null
printf 'api' | vc set api.token --description "the api" --label team=web >/dev/null

# ---- backup ----
vc_run backup "$VT_DIR/backup.db"
expect "backup" 0 "backup written to $VT_DIR/backup.db"
vt_eq "the backup is 0600" "600" "$(stat -c %a "$VT_DIR/backup.db")"
vt_eq "the backup is an SQLite file" "SQLite format 3" "$(head -c 15 "$VT_DIR/backup.db")"
vt_check "no temporary file is left" bash -c "! ls '$VT_DIR'/backup.db.tmp-* 2>/dev/null"
vt_check "values stay sealed in the backup" bash -c "! grep -aq 'pg-one' '$VT_DIR/backup.db'"
vc_run backup "$VT_DIR/no/such/dir/b.db"
expect "backup into a missing directory" 1 '' 'no/such/dir'
# The live store has its WAL beside it: a backup never replaces a store.
ino=$(stat -c %i "$VT_STORE")
vc_run backup "$VT_STORE"
expect "backup onto the live store" 1 '' 'is a store in use'
vt_eq "... which is left as it was" "$ino" "$(stat -c %i "$VT_STORE")"

# ---- restore (offline) ----
vc_run restore --store "$VT_DIR/restored.db" --key-file "$VT_KEY" "$VT_DIR/backup.db"
expect "restore" 0 'restored .* 3 secrets; the key unseals it'
vt_eq "the restored store is 0600" "600" "$(stat -c %a "$VT_DIR/restored.db")"
vt_check "restore leaves no temporary or WAL file" bash -c "! ls '$VT_DIR'/restored.db?* 2>/dev/null"
vc_run restore --store "$VT_DIR/restored.db" --key-file "$VT_KEY" "$VT_DIR/backup.db"
expect "restore never overwrites a store" 1 '' 'already exists'
head -c 32 /dev/urandom >"$VT_DIR/wrong.key"
chmod 600 "$VT_DIR/wrong.key"
vc_run restore --store "$VT_DIR/r2.db" --key-file "$VT_DIR/wrong.key" "$VT_DIR/backup.db"
expect "restore with the wrong key" 4 '' "key file does not unseal store $VT_DIR/r2.db\$"
vt_check "nothing is left after a failed restore" bash -c "! ls '$VT_DIR'/r2.db* 2>/dev/null"
echo "not a database" >"$VT_DIR/junk"
vc_run restore --store "$VT_DIR/r3.db" --key-file "$VT_KEY" "$VT_DIR/junk"
expect "restore of a file that is not a backup" 1 '' 'not a vaultd backup'
vc_run restore --store "$VT_DIR/r4.db" --key-file "$VT_KEY" "$VT_DIR/missing"
expect "restore of a missing file" 3
vc_run restore --key-file "$VT_KEY" "$VT_DIR/backup.db"
expect "restore needs --store" 2 '' '--store'
# A WAL left where the store was (moved aside after a crash) would be
# applied to the restored file by SQLite: refused, nothing written.
: >"$VT_DIR/r5.db-wal"
vc_run restore --store "$VT_DIR/r5.db" --key-file "$VT_KEY" "$VT_DIR/backup.db"
expect "restore next to a leftover WAL" 1 '' 'r5.db-wal is left from an earlier store'
vt_check "... and writes nothing" test ! -e "$VT_DIR/r5.db"
rm -f "$VT_DIR/r5.db-wal"
# A live store (its WAL holds data) is not a backup: a copy would lose it.
vc_run restore --store "$VT_DIR/r6.db" --key-file "$VT_KEY" "$VT_STORE"
expect "restore from a live store" 1 '' 'holds data: .* is a store in use'
vt_check "... and writes nothing" bash -c "! ls '$VT_DIR'/r6.db* 2>/dev/null"

# ---- a second vaultd on the restored store serves the same secrets ----
SOCK2=$VT_DIR/restored.sock
"$VAULTD_BIN" serve --store "$VT_DIR/restored.db" --socket "$SOCK2" --key-file "$VT_KEY" \
	>>"$VT_DIR/vaultd2.log" 2>&1 &
PID2=$!
for _ in $(seq 1 200); do
	curl -s --max-time 1 --unix-socket "$SOCK2" http://localhost/v1/health >/dev/null 2>&1 && break
	sleep 0.05
done
listing() { # socket -> "name current previous" lines, deleted included
	"$VAULTCTL_BIN" --socket "$1" list --deleted --json |
		python3 -c 'import json,sys
for s in json.load(sys.stdin)["secrets"]:
    print(s["name"], s["current_version"], s["previous_version"], s["deleted"])'
}
A=$(listing "$VT_SOCK")
B=$(listing "$SOCK2")
vt_eq "restored store has the same names and versions" "$A" "$B"
vt_check "the listing is not empty" test -n "$A"
same=0
total=0
for name in pg.password redis.pass api.token; do
	versions=$("$VAULTCTL_BIN" history "$name" --json | python3 -c 'import json,sys
print(" ".join(str(v["version"]) for v in json.load(sys.stdin)["versions"]))')
	for v in $versions; do
		total=$((total + 1))
		vc --socket "$VT_SOCK" get "$name" --version "$v" >"$VT_DIR/a.val"
		vc --socket "$SOCK2" get "$name" --version "$v" >"$VT_DIR/b.val"
		cmp -s "$VT_DIR/a.val" "$VT_DIR/b.val" && same=$((same + 1))
	done
done
vt_eq "every version's value is identical after restore" "$total" "$same"
vt_check "several versions were compared" test "$total" -ge 5
vc --socket "$SOCK2" undelete old.key >/dev/null
vt_eq "a deleted secret comes back in the restored store" "gone" "$(vc --socket "$SOCK2" get old.key)"
kill -TERM "$PID2"
wait "$PID2" 2>/dev/null

# ---- a backup needs the admin capability ----
cat >"$VT_DIR/reader.json" <<'EOF'
{"rules": [{"names": "*", "capabilities": ["read", "list"]}]}
EOF
vc policy put reader "$VT_DIR/reader.json" >/dev/null
READER=$(vc token create --policy reader 2>/dev/null)
VAULTD_TOKEN=$READER vc_run backup "$VT_DIR/denied.db"
expect "backup with a token without admin" 4
vt_check "no file after a refused backup" bash -c "! ls '$VT_DIR'/denied.db* 2>/dev/null"
# Sealed, the snapshot is still possible: its values are sealed anyway.
vc seal >/dev/null
vc_run backup "$VT_DIR/sealed.db"
expect "backup while sealed" 0 'backup written'
vc unseal --key-file "$VT_KEY" >/dev/null

# ---- audit tail ----
vc_run audit tail -n 5
expect "audit tail -n 5" 0
vt_eq "audit tail -n 5 prints 5 entries" "5" "$(wc -l <"$VT_DIR/out")"
vt_check "audit tail shows actions" grep -q 'sys.unseal\|unseal' "$VT_DIR/out"
not_in "audit tail does not show its own reads" "audit.read" "$OUT"
# One request, whatever the log's length: the reads between two marker writes.
printf 'm' | vc set tail.mark.before >/dev/null
vc_run audit tail -n 2
printf 'm' | vc set tail.mark.after >/dev/null
vt_eq "audit tail reads the log once" "1" "$(curl -s --unix-socket "$VT_SOCK" \
	'http://localhost/v1/audit?last=20' | python3 -c 'import json,sys
es = json.load(sys.stdin)["entries"]
i = [e["name"] for e in es].index("tail.mark.before")
j = [e["name"] for e in es].index("tail.mark.after")
print(sum(1 for e in es[i:j] if e["action"] == "audit.read"))')"
vc_run audit tail -n 3 --json
vt_eq "audit tail --json prints JSON lines" "3" "$(python3 -c 'import json,sys
print(sum(1 for l in open(sys.argv[1]) if "seq" in json.loads(l)))' "$VT_DIR/out")"
vc_run audit tail -n 1000
FIRST=$(head -1 "$VT_DIR/out" | awk '{print $1}')
vt_eq "audit tail -n 1000 starts at the first entry" "1" "$FIRST"
vc_run audit tail -n x
expect "audit tail -n needs a number" 2

# --follow prints entries that arrive later.
"$VAULTCTL_BIN" audit tail -n 0 --follow >"$VT_DIR/follow.out" 2>&1 &
FPID=$!
sleep 0.5
printf 'late' | vc set followed.secret >/dev/null
for _ in $(seq 1 60); do
	grep -q followed.secret "$VT_DIR/follow.out" && break
	sleep 0.1
done
kill "$FPID" 2>/dev/null
wait "$FPID" 2>/dev/null
vt_check "audit tail --follow shows a new entry" grep -q 'followed.secret' "$VT_DIR/follow.out"
vt_check "the followed entry is a write" grep -q 'secret.write\|secret.put\|write' "$VT_DIR/follow.out"

# ---- audit verify: intact, then one row edited behind vaultd's back ----
vc_run audit verify
expect "audit verify on an intact log" 0 'audit log intact: [0-9]+ entries checked'
vc_run audit verify --json
vt_eq "audit verify --json" "True" "$(json_field "$OUT" "d['ok']")"
sqlite3 "$VT_STORE" "UPDATE audit SET result = 'ok', status = 200, name = 'forged' WHERE seq = 4;"
vc_run audit verify
expect "audit verify after an edit" 1 '' 'audit log broken: entry 4 '
vc_run audit verify --json
vt_eq "audit verify --json names the first bad seq" "4" "$(json_field "$OUT" "d['first_bad']")"

# ---- offline verify of the store file ----
vt_stop
vc_run audit verify --store "$VT_STORE" --key-file "$VT_KEY"
expect "offline audit verify finds the same entry" 1 '' 'entry 4 '
vc_run audit verify --store "$VT_DIR/restored.db" --key-file "$VT_KEY"
expect "offline audit verify of the untouched restored store" 0 'intact'
# An older copy verifies (its head is one that was valid once); an entry
# number kept outside the store (--audit-log, vaultd's seq=) catches it.
LAST=$(sqlite3 "$VT_STORE" "SELECT max(seq) FROM audit")
vc_run audit verify --store "$VT_DIR/restored.db" --key-file "$VT_KEY" --min-seq "$LAST"
expect "an older copy is caught by --min-seq" 1 '' \
	"audit log cut: it ends at entry [0-9]+, but entry $LAST was written"
vc_run audit verify --store "$VT_DIR/restored.db" --key-file "$VT_KEY" --min-seq 1
expect "--min-seq within the log" 0 'intact'
vc_run audit verify --min-seq 0
expect "--min-seq 0 is a usage error" 2
vc_run audit verify --store "$VT_DIR/restored.db" --key-file "$VT_DIR/wrong.key"
expect "offline verify with the wrong key" 4
vc_run audit verify --key-file "$VT_KEY"
expect "--key-file without --store" 2

vt_done
