//! Failure emails: Settings > Notifications (validated, the password sealed and never shown), the
//! test email, and the quarantine email of a job with a bad token: queued while no SMTP server
//! works, delivered once one does, and sent once per quarantine reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::apps::{eventually, setup_with};
use common::smtp::SmtpSink;
use common::{call, field_error, ok};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_settings_test_email_and_the_quarantine_email() {
    let x = setup_with("scim2", &[("PROVISIO_ESCROW_BASE_SECONDS", "1")]).await;
    let sink = SmtpSink::start().await;
    let port = sink.port.to_string();
    let settings = |extra: Vec<(&'static str, String)>| {
        let mut form: Vec<(&str, String)> = vec![
            ("csrf", x.t.clone()),
            ("host", "127.0.0.1".into()),
            ("port", port.clone()),
            ("tls", "none".into()),
            ("username", "provisio".into()),
            ("from_address", "provisio@contoso.com".into()),
        ];
        for (k, v) in extra {
            form.retain(|(f, _)| *f != k);
            form.push((k, v));
        }
        form
    };
    let post = |form: Vec<(&'static str, String)>| {
        let (c, s) = (x.c.clone(), &x.s);
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            call(&c, s, "notifications/save", &form).await
        }
    };

    // A job with a bad token and failure emails ticked, before any SMTP server is set.
    x.user("ann@contoso.com", "Ann Lee", &[]).await;
    x.assign("ann@contoso.com", "").await;
    x.configure_fields(&[
        ("secret_token", "pvs_wrong"),
        ("provisioning_status", "on"),
        ("notification_email", "ops@contoso.com"),
        ("notify_on_failure", "on"),
    ])
    .await;
    let waiting = eventually(20, "the quarantine email waits", || async {
        let n = ok(call(&x.c, &x.s, "notifications/get", &[]).await).await;
        let error = n["outbox"][0]["last_error"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        (n["pending"] == 1 && error.contains("no SMTP server"))
            .then_some(n.clone())
            .ok_or(n.to_string())
    })
    .await;
    assert_eq!(waiting["outbox"][0]["to_address"], "ops@contoso.com");

    // Bad settings are refused, field by field, and change nothing.
    for (field, value) in [
        ("port", "0"),
        ("tls", "ssl3"),
        ("from_address", "nobody"),
        ("host", ""),
    ] {
        let r = post(settings(vec![(field, value.to_string())])).await;
        assert_eq!(r.status(), 400, "{field}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(field_error(&v).0, field, "{v}");
    }
    let n = ok(call(&x.c, &x.s, "notifications/get", &[]).await).await;
    assert_eq!(n["host"], "", "{n}");

    // The test email goes out with the settings as typed, before they are saved.
    let sent = ok(post(settings(vec![
        ("intent", "test".into()),
        ("test_to", "me@contoso.com".into()),
        ("password", "smtp-secret-42".into()),
    ]))
    .await)
    .await;
    assert_eq!(sent, "Test email sent to me@contoso.com.");
    assert!(sink
        .received()
        .iter()
        .any(|m| m.contains("Subject: Provisio test email")));
    // A refused test names the problem.
    let r = post(settings(vec![("intent", "test".into()), ("test_to", "x".into())])).await;
    assert_eq!(field_error(&r.json::<Value>().await.unwrap()).0, "test_to");

    // Saved: the password is sealed and never comes back; the waiting email is delivered.
    ok(post(settings(vec![("password", "smtp-secret-42".into())])).await).await;
    let n = ok(call(&x.c, &x.s, "notifications/get", &[]).await).await;
    assert_eq!(
        (n["password_set"].as_bool(), n["host"].as_str()),
        (Some(true), Some("127.0.0.1"))
    );
    assert!(!n.to_string().contains("smtp-secret-42"));
    let quarantine = eventually(20, "the quarantine email is delivered", || async {
        sink.received()
            .into_iter()
            .find(|m| m.contains("quarantine"))
            .ok_or(format!("{:?}", sink.received()))
    })
    .await;
    assert!(quarantine.contains("To: ops@contoso.com"), "{quarantine}");
    assert!(
        quarantine.contains("EncounteredQuarantineException"),
        "{quarantine}"
    );
    assert!(
        !common::database_text(&x.s.data_dir).contains("smtp-secret-42"),
        "the SMTP password is sealed in the database"
    );
    assert!(!x.s.output_text().contains("smtp-secret-42"));

    // The job keeps failing (every 4 s with this base period): still one email for the reason.
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    let s = x.status().await;
    assert!(
        s["history"].as_array().unwrap().len() >= 2,
        "the job retried: {s}"
    );
    let emails = sink
        .received()
        .iter()
        .filter(|m| m.contains("quarantine"))
        .count();
    assert_eq!(emails, 1);
    let n = ok(call(&x.c, &x.s, "notifications/get", &[]).await).await;
    assert_eq!(n["pending"], 0, "{n}");
}
