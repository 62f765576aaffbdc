/**
 * Migration 3: remote providers (issue 18). The API key is kept only sealed (AES-256-GCM, see
 * main/server/providers/key-box.ts): the column holds `v1.<iv>.<tag>.<ciphertext>`, never the key itself.
 */
export const PROVIDERS_SCHEMA = `
  CREATE TABLE providers (
    name        TEXT PRIMARY KEY NOT NULL,
    base_url    TEXT NOT NULL,
    kind        TEXT NOT NULL,
    sealed_key  TEXT,
    enabled     INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
  ) STRICT;
`;
