//! The `steward` command: serve (the default), migrate, create-owner, seed, audit verify,
//! audit checkpoint, backup, account reset-two-factor.

use std::process::ExitCode;

/// jemalloc rather than glibc's malloc: see Cargo.toml.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Prints a line to standard output; a closed pipe (`steward seed | head`) is not an error
/// worth a panic: the work is done either way.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

use steward::config::{Config, LogFormat};
use steward::{crypto, operations, storage};

const USAGE: &str = "\
usage: steward [COMMAND]

commands:
  serve                                   run the console (the default)
  migrate                                 apply pending database migrations and exit
  create-owner --email EMAIL --org NAME [--name NAME]
                                          create an account owning a new organization;
                                          the password is read from STEWARD_OWNER_PASSWORD,
                                          or generated and printed once
  seed --members N --events M [--org NAME]
                                          a synthetic organization for demos and benchmarks
                                          (owner seed-owner@example.com, password from
                                          STEWARD_OWNER_PASSWORD or printed once)
  audit verify [--checkpoint FILE]        walk every organization's audit hash chain; exit 1
                                          naming the first event that does not match, or
                                          (with a checkpoint) a saved head no longer reached
  audit verify --csv FILE [--checkpoint FILE] [--against FULL.csv]
                                          check an export made with chain=1, offline (no
                                          database); exit 0 only when its rows are proven
  audit checkpoint [--out FILE]           save the head of every organization's chain (JSON
                                          lines) to FILE (which must not exist) or stdout
  backup PATH                             a consistent copy of the SQLite database at PATH
                                          (which must not exist), while the server runs
  account reset-two-factor --email EMAIL  turn two-factor authentication off for someone who
                                          lost both their authenticator and their recovery
                                          codes (the codes are deleted; the owner is emailed)
  help                                    show this text

configuration comes from the STEWARD_* environment variables (see README).";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = args.first().map(String::as_str).unwrap_or("serve");
    if matches!(command, "help" | "--help" | "-h") {
        say!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("steward: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    // after the configuration, which says how to write the log; a bad configuration is told
    // on stderr above, in plain words, whatever the format asked for
    init_tracing(config.log_format);
    let result = match command {
        "serve" => serve(config),
        "migrate" => migrate(&config),
        "create-owner" => create_owner(&config, &args[1..]),
        "seed" => seed(&config, &args[1..]),
        "audit" if args.get(1).map(String::as_str) == Some("verify") => audit_verify(&config, &args[2..]),
        "audit" if args.get(1).map(String::as_str) == Some("checkpoint") => audit_checkpoint(&config, &args[2..]),
        "backup" => backup(&config, &args[1..]),
        "account" if args.get(1).map(String::as_str) == Some("reset-two-factor") => reset_two_factor(&config, &args[2..]),
        other => Err(format!("unknown command {other:?}\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("steward: {message}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let log = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    let _ = match format {
        LogFormat::Text => log.try_init(),
        // one object per line, the event's fields at its top level and the request's (its
        // span's) under "span"; the list of every enclosing span would only repeat them
        LogFormat::Json => log.json().flatten_event(true).with_span_list(false).try_init(),
    };
}

fn serve(config: Config) -> Result<(), String> {
    let runtime = actix_web::rt::System::new();
    runtime.block_on(async move {
        let base = config.base_url.clone();
        let running = steward::build(config).map_err(|e| e.to_string())?;
        tracing::info!(addr = %running.addr, base_url = %base, "Steward is listening");
        // the metrics listener outlives the console by the drain, so that a scrape can watch it
        let metrics = running.metrics.map(|listener| {
            tracing::info!(addr = %listener.addr, "metrics are served at /metrics");
            let handle = listener.server.handle();
            actix_web::rt::spawn(listener.server);
            handle
        });
        // on SIGTERM or SIGINT the server stops taking connections, finishes the requests it has
        // (closing each connection as it answers), then the workers finish their round
        let handle = running.server.handle();
        let draining = running.draining.clone();
        actix_web::rt::spawn(async move {
            stop_signal().await;
            tracing::info!("stopping: finishing the requests under way");
            draining.store(true, std::sync::atomic::Ordering::SeqCst);
            handle.stop(true).await;
        });
        let served = running.server.await.map_err(|e| e.to_string());
        if let Some(metrics) = metrics {
            metrics.stop(true).await;
        }
        let background = running.background;
        let _ = actix_web::rt::task::spawn_blocking(move || background.shutdown()).await;
        tracing::info!("Steward has stopped");
        served
    })
}

/// Resolves on SIGTERM (what a service manager or an orchestrator sends) or SIGINT (Ctrl-C).
async fn stop_signal() {
    use actix_web::rt::signal;
    #[cfg(unix)]
    {
        let terminate = signal::unix::signal(signal::unix::SignalKind::terminate());
        if let Ok(mut terminate) = terminate {
            let interrupt = std::pin::pin!(signal::ctrl_c());
            let terminated = std::pin::pin!(terminate.recv());
            futures_util::future::select(interrupt, terminated).await;
            return;
        }
    }
    let _ = signal::ctrl_c().await;
}

fn migrate(config: &Config) -> Result<(), String> {
    // connect() applies pending migrations
    storage::connect(&config.database_url, 1).map_err(|e| e.to_string())?;
    say!("migrations applied");
    Ok(())
}

fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).map(String::as_str)
}

fn create_owner(config: &Config, args: &[String]) -> Result<(), String> {
    let email = flag(args, "--email").ok_or("create-owner needs --email EMAIL")?;
    let org = flag(args, "--org").ok_or("create-owner needs --org NAME")?;
    let name = flag(args, "--name").map(str::to_owned).unwrap_or_else(|| email.split('@').next().unwrap_or(email).to_string());
    let (password, generated) = match std::env::var("STEWARD_OWNER_PASSWORD") {
        Ok(p) if !p.is_empty() => (p, false),
        _ => (crypto::random_token(), true),
    };
    let pool = storage::connect(&config.database_url, 2).map_err(|e| e.to_string())?;
    let database = storage::Db::new(pool);
    let (account, org_id) =
        operations::accounts::create_owner(&database, email, &name, org, &password).map_err(|e| e.to_string())?;
    say!("created account {account} owning organization {org_id}");
    if generated {
        say!("password (shown once): {password}");
    }
    Ok(())
}

fn seed(config: &Config, args: &[String]) -> Result<(), String> {
    let number = |name: &str| -> Result<usize, String> {
        match flag(args, name) {
            Some(v) => v.replace('_', "").parse().map_err(|_| format!("{name} needs a number, got {v:?}")),
            None => Ok(0),
        }
    };
    let options = steward::seed::Options {
        members: number("--members")?,
        events: number("--events")?,
        org_name: flag(args, "--org").unwrap_or("Seeded Org").to_string(),
        owner_password: std::env::var("STEWARD_OWNER_PASSWORD").ok().filter(|p| !p.is_empty()),
    };
    let pool = storage::connect(&config.database_url, 2).map_err(|e| e.to_string())?;
    let report = steward::seed::run(&storage::Db::new(pool), &options).map_err(|e| e.to_string())?;
    say!("{report}");
    Ok(())
}

fn audit_verify(config: &Config, args: &[String]) -> Result<(), String> {
    let known = ["--checkpoint", "--csv", "--against"];
    if let Some(other) = args.iter().step_by(2).find(|a| !known.contains(&a.as_str())) {
        return Err(format!("audit verify does not know {other:?}\n\n{USAGE}"));
    }
    if let Some(last) = args.last().filter(|_| args.len() % 2 == 1) {
        return Err(format!("{last} needs a FILE"));
    }
    let checkpoint = match flag(args, "--checkpoint") {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read the checkpoint {path}: {e}"))?;
            Some(steward::domain::audit_chain::parse_checkpoint(&text).map_err(|e| format!("{path}: {e}"))?)
        }
        None => None,
    };
    if let Some(csv) = flag(args, "--csv") {
        return audit_verify_csv(csv, flag(args, "--against"), checkpoint.as_deref());
    }
    if flag(args, "--against").is_some() {
        return Err("--against FULL.csv goes with --csv FILE".into());
    }
    let pool = storage::connect(&config.database_url, 2).map_err(|e| e.to_string())?;
    let db = storage::Db::new(pool);
    let report = match &checkpoint {
        Some(saved) => operations::audit::verify_with_checkpoint(&db, saved),
        None => operations::audit::verify(&db),
    }
    .map_err(|e| e.to_string())?;
    say!("{report}");
    if report.is_intact() { Ok(()) } else { Err("the audit log does not match its hash chain".into()) }
}

/// Checks an exported CSV without the database: exit 0 only when its rows are proven.
fn audit_verify_csv(
    path: &str,
    against: Option<&str>,
    checkpoint: Option<&[steward::domain::audit_chain::SavedHead]>,
) -> Result<(), String> {
    let open = |p: &str| std::fs::File::open(p).map(std::io::BufReader::new).map_err(|e| format!("cannot read {p}: {e}"));
    let report = match against {
        Some(full) => steward::csv_verify::verify_csv_against(open(path)?, open(full)?, checkpoint),
        None => steward::csv_verify::verify_csv(open(path)?, checkpoint),
    };
    say!("{report}");
    if report.is_proven() { Ok(()) } else { Err(format!("{path} is not proven")) }
}

fn audit_checkpoint(config: &Config, args: &[String]) -> Result<(), String> {
    if let Some(other) = args.iter().step_by(2).find(|a| a.as_str() != "--out") {
        return Err(format!("audit checkpoint does not know {other:?}\n\n{USAGE}"));
    }
    let out = flag(args, "--out");
    if !args.is_empty() && out.is_none() {
        return Err("--out needs a FILE".into());
    }
    let pool = storage::connect(&config.database_url, 2).map_err(|e| e.to_string())?;
    let heads = operations::audit::checkpoint(&storage::Db::new(pool)).map_err(|e| e.to_string())?;
    let text: String = heads.iter().map(|h| h.to_line() + "\n").collect();
    match out {
        Some(path) => {
            use std::io::Write;
            // a checkpoint is evidence: never written over
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
                .map_err(|e| format!("cannot create {path}: {e} (a checkpoint is never overwritten)"))?;
            file.write_all(text.as_bytes()).and_then(|()| file.sync_all()).map_err(|e| format!("cannot write {path}: {e}"))?;
            eprintln!("steward: saved the heads of {} organizations to {path}; keep it where the database's administrators cannot write", heads.len());
        }
        None => {
            use std::io::Write;
            std::io::stdout().write_all(text.as_bytes()).map_err(|e| format!("cannot write the checkpoint: {e}"))?;
        }
    }
    Ok(())
}

fn backup(config: &Config, args: &[String]) -> Result<(), String> {
    let [path] = args else { return Err(format!("backup needs one PATH\n\n{USAGE}")) };
    if storage::Backend::of_url(&config.database_url) == Some(storage::Backend::Postgres) {
        return Err("steward backup copies a SQLite database; back up PostgreSQL with its own tools:\n  \
                    back up:  pg_dump -Fc -f steward.dump \"$STEWARD_DATABASE_URL\"\n  \
                    restore:  pg_restore --clean --if-exists -d \"$STEWARD_DATABASE_URL\" steward.dump  \
                    (server stopped; it applies its migrations when it starts)"
            .into());
    }
    if std::path::Path::new(path).exists() {
        return Err(format!("{path} exists; a backup is never written over an existing file"));
    }
    let pool = storage::connect(&config.database_url, 1).map_err(|e| e.to_string())?;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    storage::backup::vacuum_into(&mut conn, path).map_err(|e| format!("the backup failed: {e}"))?;
    let size = std::fs::metadata(path).map_err(|e| format!("the backup is not at {path}: {e}"))?.len();
    let shown = std::fs::canonicalize(path).map(|p| p.display().to_string()).unwrap_or_else(|_| path.clone());
    say!("backup written to {shown} ({size} bytes, {:.1} MiB)", size as f64 / (1024.0 * 1024.0));
    Ok(())
}

fn reset_two_factor(config: &Config, args: &[String]) -> Result<(), String> {
    let email = flag(args, "--email").ok_or("account reset-two-factor needs --email EMAIL")?;
    let postbox = steward::mail::Postbox::from_config(config, steward::background::Waker::none()).map_err(|e| e.to_string())?;
    let pool = storage::connect(&config.database_url, 2).map_err(|e| e.to_string())?;
    let db = storage::Db::new(pool);
    let reset = match operations::two_factor::reset(&db, &postbox, email) {
        Ok(reset) => reset,
        Err(operations::OpError::NotFound) => return Err(format!("no account has the email {email:?}; nothing was changed")),
        Err(e) => return Err(e.to_string()),
    };
    if reset.was_on {
        say!("two-factor authentication turned off for {}", reset.email);
        say!("{} recovery codes deleted", reset.recovery_codes_deleted);
        say!("they sign in with their password alone now, and can turn two-factor on again from their profile");
        // the notice is in the outbox; deliver it now rather than at the server's next round.
        // A mail server that is down is worth a warning, not a refusal: the server retries.
        let delivered = steward::mail::Transport::from_config(config)
            .map_err(|e| e.to_string())
            .and_then(|t| steward::mail::delivery::round(&db, &t, &|| false).map_err(|e| e.to_string()));
        match delivered {
            Ok(round) if round.failed == 0 => say!("the owner has been emailed a notice"),
            Ok(_) => eprintln!("steward: warning: the notice to the owner could not be sent yet; the server will retry"),
            Err(e) => eprintln!("steward: warning: the notice to the owner waits in the outbox ({e}); the server will send it"),
        }
    } else {
        say!("two-factor authentication was already off for {}; {} recovery codes deleted", reset.email, reset.recovery_codes_deleted);
    }
    Ok(())
}
