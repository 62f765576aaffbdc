/**
 * Opens `<data-dir>/plas.db` (better-sqlite3, WAL) and brings its schema up to date. Each migration runs in its own
 * transaction together with the `user_version` bump, so a failed migration leaves the file at the previous version.
 * A file that is not a SQLite database, another program's database, or one written by a newer PLAS Studio is refused
 * with what to do; nothing is ever deleted or overwritten to "fix" it.
 */
import Database from 'better-sqlite3';
import { MIGRATIONS, type Migration } from './migrations.ts';

export class DatabaseError extends Error {
  override name = 'DatabaseError';
}

export type Db = Database.Database;

function sqliteCode(error: unknown): string {
  return typeof (error as { code?: unknown })?.code === 'string' ? (error as { code: string }).code : '';
}

/** `migrations` is for tests (an older schema is the first k of them). */
export function openDatabase(path: string, migrations: readonly Migration[] = MIGRATIONS): Db {
  let db: Db;
  try {
    db = new Database(path, { timeout: 5000 });
  } catch (error) {
    throw new DatabaseError(`cannot open the database ${path}: ${(error as Error).message}`);
  }
  try {
    // The first statement reads the header: a corrupt or foreign file fails here with SQLITE_NOTADB.
    const version = db.pragma('user_version', { simple: true }) as number;
    checkVersion(db, path, version, migrations.length);
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    migrate(db, path, version, migrations);
    return db;
  } catch (error) {
    db.close();
    if (error instanceof DatabaseError) throw error;
    const code = sqliteCode(error);
    if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
      throw new DatabaseError(
        `${path} is not a valid PLAS Studio database (${(error as Error).message}): move it aside to start with an ` +
          'empty one, or restore it from a backup',
      );
    }
    throw new DatabaseError(`cannot open the database ${path}: ${(error as Error).message}`);
  }
}

function checkVersion(db: Db, path: string, version: number, latest: number): void {
  if (version > latest) {
    throw new DatabaseError(
      `${path} was written by a newer PLAS Studio (schema version ${version}; this version knows up to ${latest}): ` +
        'update PLAS Studio, or use another --data-dir',
    );
  }
  if (version === 0) {
    // Version 0 with tables in it is some other program's database: migrating it would mix our tables into it.
    const tables = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all();
    if (tables.length > 0) {
      const names = tables.map((t) => (t as { name: string }).name).join(', ');
      throw new DatabaseError(
        `${path} is not a PLAS Studio database (it has tables ${names} and no schema version): use another --data-dir`,
      );
    }
  }
}

function migrate(db: Db, path: string, from: number, migrations: readonly Migration[]): void {
  for (let v = from; v < migrations.length; v++) {
    const migration = migrations[v];
    const step = db.transaction(() => {
      migration.up(db);
      // PRAGMA cannot take a bound parameter; v + 1 is an integer we computed.
      db.pragma(`user_version = ${v + 1}`);
    });
    try {
      step();
    } catch (error) {
      throw new DatabaseError(
        `${path}: migration ${v + 1} (${migration.name}) failed, the database stays at version ${v}: ` +
          (error as Error).message,
      );
    }
  }
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}
