//! The `steward` command: serve (the default), migrate, create-owner, seed, audit verify,
//! account reset-two-factor.

use std::process::ExitCode;

/// Prints a line to standard output; a closed pipe (`steward seed | head`) is not an error
/// worth a panic: the work is done either way.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

use steward::config::Config;
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
  audit verify                            walk every organization's audit hash chain; exit 1
                                          naming the first event that does not match
  account reset-two-factor --email EMAIL  turn two-factor authentication off for someone who
                                          lost both their authenticator and their recovery
                                          codes (the codes are deleted; the owner is emailed)
  help                                    show this text

configuration comes from the STEWARD_* environment variables (see README).";

fn main() -> ExitCode {
    init_tracing();
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
    let result = match command {
        "serve" => serve(config),
        "migrate" => migrate(&config),
        "create-owner" => create_owner(&config, &args[1..]),
        "seed" => seed(&config, &args[1..]),
        "audit" if args.get(1).map(String::as_str) == Some("verify") => audit_verify(&config),
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

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).try_init();
}

fn serve(config: Config) -> Result<(), String> {
    let runtime = actix_web::rt::System::new();
    runtime.block_on(async move {
        let base = config.base_url.clone();
        let running = steward::build(config).map_err(|e| e.to_string())?;
        tracing::info!(addr = %running.addr, base_url = %base, "Steward is listening");
        // on SIGTERM or SIGINT the server stops taking connections and finishes the requests it
        // has; then the workers finish their round
        let served = running.server.await.map_err(|e| e.to_string());
        let background = running.background;
        let _ = actix_web::rt::task::spawn_blocking(move || background.shutdown()).await;
        tracing::info!("Steward has stopped");
        served
    })
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

fn audit_verify(config: &Config) -> Result<(), String> {
    let pool = storage::connect(&config.database_url, 2).map_err(|e| e.to_string())?;
    let report = operations::audit::verify(&storage::Db::new(pool)).map_err(|e| e.to_string())?;
    say!("{report}");
    if report.is_intact() { Ok(()) } else { Err("the audit log does not match its hash chain".into()) }
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
