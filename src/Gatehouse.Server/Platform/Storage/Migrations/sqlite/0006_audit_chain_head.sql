-- The head of each audit chain: where it ends (seq, hash), updated in the transaction of every
-- append, and sealed with the server's audit key so it cannot be rewound. Chains that exist now
-- keep their plain SHA-256 events: keyed hashing begins at keyed_from_seq. Their heads are sealed
-- by the first start after this migration, when the audit key is created.
CREATE TABLE audit_chain_heads (
    org_id         TEXT PRIMARY KEY,
    last_seq       INTEGER NOT NULL,
    last_hash      TEXT NOT NULL,
    keyed_from_seq INTEGER NOT NULL,
    lost_at_seq    INTEGER NULL,
    seal           TEXT NULL,
    updated_at     TEXT NOT NULL
);

INSERT INTO audit_chain_heads (org_id, last_seq, last_hash, keyed_from_seq, lost_at_seq, seal, updated_at)
SELECT e.org_id, e.seq, e.hash, e.seq + 1, NULL, NULL, strftime('%Y-%m-%d %H:%M:%f', 'now')
FROM audit_events e
WHERE e.seq = (SELECT MAX(m.seq) FROM audit_events m WHERE m.org_id = e.org_id);
