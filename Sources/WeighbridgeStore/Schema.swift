/// The database schema as numbered migrations. A migration that has shipped is never edited:
/// changes go in a new one, so every box can be brought forward from whatever version it has.
/// `PRAGMA user_version` holds the number of migrations applied.
enum Schema {
    static let migrations: [String] = [
        // 1: the first schema.
        """
        CREATE TABLE movements (
            id TEXT PRIMARY KEY,
            state TEXT NOT NULL,
            vehicle TEXT,
            lifecycle TEXT NOT NULL,
            receipt TEXT,
            created_at_ms INTEGER NOT NULL,
            updated_at_ms INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX movements_by_state ON movements(state);
        CREATE INDEX movements_by_vehicle ON movements(vehicle);

        CREATE TABLE weighings (
            ticket INTEGER PRIMARY KEY,
            bridge TEXT NOT NULL,
            weight_g INTEGER NOT NULL,
            division_g INTEGER NOT NULL,
            weighed_at_ms INTEGER NOT NULL,
            status_flags INTEGER NOT NULL,
            legal_id INTEGER,
            instrument_id TEXT,
            raw_registers BLOB NOT NULL,
            route TEXT NOT NULL,
            route_detail TEXT,
            recorded_at_ms INTEGER NOT NULL
        ) STRICT;
        CREATE TRIGGER weighings_are_immutable BEFORE UPDATE ON weighings
            BEGIN SELECT RAISE(ABORT, 'weighings are immutable'); END;
        CREATE TRIGGER weighings_are_kept BEFORE DELETE ON weighings
            BEGIN SELECT RAISE(ABORT, 'weighings are never deleted'); END;

        CREATE TABLE weighing_bindings (
            ticket INTEGER PRIMARY KEY REFERENCES weighings(ticket),
            movement_id TEXT NOT NULL REFERENCES movements(id),
            bound_by TEXT NOT NULL,
            bound_at_ms INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX weighing_bindings_by_movement ON weighing_bindings(movement_id);

        CREATE TABLE decisions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            movement_id TEXT NOT NULL REFERENCES movements(id),
            outcome TEXT NOT NULL,
            reason TEXT,
            net_g INTEGER,
            declared_g INTEGER NOT NULL,
            deviation_percent TEXT,
            high_risk INTEGER NOT NULL,
            actor TEXT NOT NULL,
            note TEXT NOT NULL,
            decided_at_ms INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX decisions_by_movement ON decisions(movement_id);

        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            movement_id TEXT NOT NULL REFERENCES movements(id),
            kind TEXT NOT NULL,
            idempotent INTEGER NOT NULL,
            idempotency_key TEXT NOT NULL UNIQUE,
            report TEXT NOT NULL,
            state TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_ms INTEGER NOT NULL,
            last_error TEXT,
            server_id TEXT,
            created_at_ms INTEGER NOT NULL,
            updated_at_ms INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX outbox_due ON outbox(state, next_attempt_ms);
        CREATE INDEX outbox_by_movement ON outbox(movement_id);

        CREATE TABLE stored_tares (
            vehicle TEXT PRIMARY KEY,
            tare_g INTEGER NOT NULL,
            set_at_ms INTEGER NOT NULL,
            expires_at_ms INTEGER NOT NULL,
            set_by TEXT NOT NULL
        ) STRICT;

        CREATE TABLE arrivals (
            subject TEXT PRIMARY KEY,
            bridge TEXT NOT NULL,
            arrival TEXT NOT NULL
        ) STRICT;

        CREATE TABLE reference_data (
            list TEXT PRIMARY KEY,
            body TEXT NOT NULL,
            fetched_at_ms INTEGER NOT NULL
        ) STRICT;

        CREATE TABLE audit (
            seq INTEGER PRIMARY KEY,
            at_ms INTEGER NOT NULL,
            kind TEXT NOT NULL,
            actor TEXT NOT NULL,
            subject TEXT NOT NULL,
            detail TEXT NOT NULL,
            prev_hash BLOB NOT NULL,
            hash BLOB NOT NULL
        ) STRICT;
        CREATE TRIGGER audit_is_append_only BEFORE UPDATE ON audit
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        CREATE TRIGGER audit_is_kept BEFORE DELETE ON audit
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        """,
        // 2: warnings the API returned with an accepted report (Defra `validation.warnings`).
        """
        ALTER TABLE outbox ADD COLUMN warnings TEXT;
        """,
        // 3: the body of the request last sent for a report: every version of a receipt sent.
        """
        ALTER TABLE outbox ADD COLUMN sent_body TEXT;
        """,
        // 4: a decision's operator in columns of their own, so that it reads back as written
        // (`actor` keeps the written form). Decisions made before carry the name alone.
        """
        ALTER TABLE decisions ADD COLUMN operator_name TEXT;
        ALTER TABLE decisions ADD COLUMN operator_uid INTEGER;
        UPDATE decisions SET operator_name = substr(actor, 10) WHERE actor LIKE 'operator:_%';
        """,
        // 5: an ASCII indicator's frame, kept as received, where a Modbus indicator's registers go
        // (`raw_registers` is then empty).
        """
        ALTER TABLE weighings ADD COLUMN raw_frame BLOB;
        """,
    ]

    /// The version a fully migrated database has.
    static var latestVersion: Int { migrations.count }
}
