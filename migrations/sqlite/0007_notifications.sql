-- Failure emails: the SMTP server they go through and an outbox, so a failing SMTP server delays
-- an email and never loses it.

CREATE TABLE smtp_settings (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    host TEXT NOT NULL,
    port INTEGER NOT NULL,
    -- 'none' (plain, for a local relay), 'starttls' (587) or 'tls' (implicit TLS, 465).
    tls TEXT NOT NULL CHECK (tls IN ('none', 'starttls', 'tls')),
    username TEXT NOT NULL DEFAULT '',
    -- Sealed like applications' secret tokens (src/secrets.rs); never sent back to a browser.
    password TEXT,
    from_address TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE email_outbox (
    id TEXT PRIMARY KEY,
    to_address TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at TEXT NOT NULL,
    last_error TEXT NOT NULL DEFAULT '',
    sent_at TEXT
);
CREATE INDEX email_outbox_due ON email_outbox (next_at) WHERE sent_at IS NULL;
