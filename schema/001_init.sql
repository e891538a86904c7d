-- The first schema of a vaultd SQLite store. Applied in one transaction by
-- lib/store_sqlite.c, which then sets PRAGMA user_version = 1. Values are
-- ciphertext only (lib/seal.h); nothing in this file ever holds plaintext.

-- 'vltd': store_open refuses an SQLite file that is not a vaultd store.
PRAGMA application_id = 1986819172;

-- One row: the store's identity, how its KEK is made, the revision counter
-- for watch and the head of the audit chain (so a dropped tail is noticed).
CREATE TABLE store (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	store_id BLOB NOT NULL CHECK (length(store_id) = 16),
	kek_kind INTEGER NOT NULL CHECK (kek_kind IN (1, 2)),
	kdf_opslimit INTEGER NOT NULL,
	kdf_memlimit INTEGER NOT NULL,
	kdf_salt BLOB NOT NULL CHECK (length(kdf_salt) = 16),
	revision INTEGER NOT NULL DEFAULT 0,
	audit_seq INTEGER NOT NULL DEFAULT 0,
	audit_hash BLOB NOT NULL,
	audit_tag BLOB NOT NULL
);

-- Wrapped keys: id 0 is the MAC master key, 1.. are DEKs (lib/keyring.h).
CREATE TABLE keys (
	key_id INTEGER PRIMARY KEY CHECK (key_id >= 0),
	wrapped BLOB NOT NULL
);

CREATE TABLE secrets (
	id INTEGER PRIMARY KEY,
	name TEXT NOT NULL UNIQUE,
	current_version INTEGER NOT NULL,
	previous_version INTEGER NOT NULL,
	-- highest version ever given out: versions are never reused
	latest_version INTEGER NOT NULL,
	revision INTEGER NOT NULL,
	created INTEGER NOT NULL,
	updated INTEGER NOT NULL,
	created_by TEXT NOT NULL,
	updated_by TEXT NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	labels TEXT NOT NULL DEFAULT '{}',
	rotation_period INTEGER NOT NULL DEFAULT 0,
	max_versions INTEGER NOT NULL,
	deleted INTEGER NOT NULL DEFAULT 0
);

-- value is the sealed blob, NULL once destroyed (secure_delete overwrites the
-- bytes it occupied). key_id says which DEK sealed it.
CREATE TABLE versions (
	secret_id INTEGER NOT NULL REFERENCES secrets(id) ON DELETE CASCADE,
	version INTEGER NOT NULL CHECK (version >= 1),
	created INTEGER NOT NULL,
	created_by TEXT NOT NULL,
	key_id INTEGER NOT NULL REFERENCES keys(key_id),
	value BLOB,
	PRIMARY KEY (secret_id, version)
);
-- reseal finds versions still under an older DEK
CREATE INDEX versions_by_key ON versions(key_id) WHERE value IS NOT NULL;

-- Only a keyed hash of each token; the accessor names it in lists and audit.
CREATE TABLE tokens (
	accessor TEXT PRIMARY KEY,
	hash BLOB NOT NULL UNIQUE CHECK (length(hash) = 32),
	policies TEXT NOT NULL,
	created INTEGER NOT NULL,
	expires INTEGER NOT NULL,
	uses_left INTEGER NOT NULL,
	revoked INTEGER NOT NULL DEFAULT 0,
	created_by TEXT NOT NULL
);

CREATE TABLE policies (
	name TEXT PRIMARY KEY,
	document TEXT NOT NULL
);

-- The audit log: hash = keyed BLAKE2b over prev_hash and the entry
-- (lib/audit_chain.h), so a changed, dropped or reordered row shows.
CREATE TABLE audit (
	seq INTEGER PRIMARY KEY CHECK (seq >= 1),
	time_ms INTEGER NOT NULL,
	uid INTEGER NOT NULL,
	gid INTEGER NOT NULL,
	pid INTEGER NOT NULL,
	accessor TEXT NOT NULL,
	action TEXT NOT NULL,
	name TEXT NOT NULL,
	result TEXT NOT NULL,
	status INTEGER NOT NULL,
	prev_hash BLOB NOT NULL,
	hash BLOB NOT NULL
);
