//! driftwatch's own PostgreSQL, for when no database URL is configured.
//!
//! Uses the system's `initdb`/`pg_ctl`/`postgres`, keeps its data under a
//! driftwatch data directory, listens on 127.0.0.1 only (no Unix socket),
//! and authenticates with a generated password kept in that directory.
//! PostgreSQL refuses to run as root, so when driftwatch is root the server
//! runs as the `postgres` system user (created by the distribution's
//! package).
//!
//! Layout of the data directory:
//! `pgdata/` (the cluster), `port`, `password` (0600), `postgres.log`.

use secrecy::{ExposeSecret, SecretString};
use std::io::Write;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use thiserror::Error;

const SUPERUSER: &str = "driftwatch";
const DATABASE: &str = "driftwatch";

#[derive(Debug, Error)]
pub enum LocalPostgresError {
    #[error(
        "no PostgreSQL server binaries found (looked for initdb in $DRIFTWATCH_PG_BIN, $PATH and /usr/lib/postgresql/*/bin); install them (Debian: apt-get install postgresql) or set DRIFTWATCH_DATABASE_URL"
    )]
    BinariesNotFound,
    #[error(
        "driftwatch runs as root and PostgreSQL refuses to; create a `postgres` system user (the postgresql package does) or run driftwatch as another user"
    )]
    NoUnprivilegedUser,
    #[error("{action} in {dir}: {source}")]
    Io {
        action: &'static str,
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("`{command}` failed ({status}): {output}")]
    Command {
        command: String,
        status: String,
        output: String,
    },
}

fn io<'a>(
    action: &'static str,
    dir: &'a Path,
) -> impl FnOnce(std::io::Error) -> LocalPostgresError + 'a {
    move |source| LocalPostgresError::Io {
        action,
        dir: dir.to_path_buf(),
        source,
    }
}

/// A running local server. Dropping it does not stop the server: call
/// [`LocalPostgres::stop`] (only a server this process started is stopped,
/// so a second driftwatch command can share the first one's server).
#[derive(Debug)]
pub struct LocalPostgres {
    data_dir: PathBuf,
    bin_dir: PathBuf,
    run_as: Option<String>,
    port: u16,
    /// The superuser's password: never in `{:?}`.
    password: SecretString,
    started_here: bool,
}

impl LocalPostgres {
    /// Initialises the cluster on first use, then starts it unless it is
    /// already running.
    pub fn start(data_dir: &Path) -> Result<LocalPostgres, LocalPostgresError> {
        let bin_dir = find_bin_dir().ok_or(LocalPostgresError::BinariesNotFound)?;
        let run_as = if is_root() {
            Some(unprivileged_user().ok_or(LocalPostgresError::NoUnprivilegedUser)?)
        } else {
            None
        };
        std::fs::create_dir_all(data_dir).map_err(io("creating the data directory", data_dir))?;
        // The server user must be able to reach pgdata/ when we are root.
        let mode = if run_as.is_some() { 0o711 } else { 0o700 };
        std::fs::set_permissions(data_dir, std::fs::Permissions::from_mode(mode))
            .map_err(io("setting permissions", data_dir))?;

        let mut server = LocalPostgres {
            data_dir: data_dir.to_path_buf(),
            bin_dir,
            run_as,
            port: 0,
            password: SecretString::from(""),
            started_here: false,
        };
        if !server.pgdata().join("PG_VERSION").exists() {
            server.init()?;
        }
        server.port = read_trimmed(&data_dir.join("port"))
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| LocalPostgresError::Io {
                action: "reading the port file",
                dir: data_dir.to_path_buf(),
                source: std::io::Error::other("missing or not a port number"),
            })?;
        server.password = read_trimmed(&data_dir.join("password"))
            .map(SecretString::from)
            .ok_or_else(|| LocalPostgresError::Io {
                action: "reading the password file",
                dir: data_dir.to_path_buf(),
                source: std::io::Error::other("missing or empty"),
            })?;
        if !server.is_running() {
            server.pg_ctl(&[
                "start",
                "-w",
                "-t",
                "60",
                "-l",
                &server.log_path().to_string_lossy(),
            ])?;
            server.started_here = true;
        }
        Ok(server)
    }

    /// A handle to no server, to check what `{:?}` shows.
    #[cfg(test)]
    pub(crate) fn for_debug_test(password: &str) -> LocalPostgres {
        LocalPostgres {
            data_dir: PathBuf::from("/nonexistent"),
            bin_dir: PathBuf::from("/nonexistent"),
            run_as: None,
            port: 5432,
            password: password.into(),
            started_here: false,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// URL of the server's `postgres` maintenance database.
    pub fn admin_url(&self) -> String {
        self.url_for("postgres")
    }

    /// URL of driftwatch's database (see [`LocalPostgres::ensure_database`]).
    pub fn url(&self) -> String {
        self.url_for(DATABASE)
    }

    pub fn url_for(&self, database: &str) -> String {
        format!(
            "postgres://{SUPERUSER}:{}@127.0.0.1:{}/{database}",
            self.password.expose_secret(),
            self.port
        )
    }

    pub fn started_here(&self) -> bool {
        self.started_here
    }

    /// Stops the server if this process started it.
    pub fn stop(&self) -> Result<(), LocalPostgresError> {
        if self.started_here {
            self.pg_ctl(&["stop", "-m", "fast", "-w", "-t", "60"])?;
        }
        Ok(())
    }

    fn pgdata(&self) -> PathBuf {
        self.data_dir.join("pgdata")
    }

    fn log_path(&self) -> PathBuf {
        self.data_dir.join("postgres.log")
    }

    fn is_running(&self) -> bool {
        // Exit status 0: running; 3: not running; 4: no accessible directory.
        self.command("pg_ctl")
            .args(["status", "-D"])
            .arg(self.pgdata())
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    }

    fn init(&self) -> Result<(), LocalPostgresError> {
        let dir = &self.data_dir;
        let port = free_loopback_port().map_err(io("choosing a loopback port", dir))?;
        let password = generate_password().map_err(io("generating a password", dir))?;
        write_private(&dir.join("password"), &password)
            .map_err(io("writing the password file", dir))?;

        // initdb reads the password from a file the server user can read;
        // it is removed as soon as initdb is done.
        let pwfile = dir.join("initdb-password");
        write_private(&pwfile, &password).map_err(io("writing the initdb password file", dir))?;
        self.give_to_server_user(&pwfile)?;
        let pgdata = self.pgdata();
        std::fs::create_dir_all(&pgdata).map_err(io("creating pgdata", dir))?;
        std::fs::set_permissions(&pgdata, std::fs::Permissions::from_mode(0o700))
            .map_err(io("setting permissions", &pgdata))?;
        self.give_to_server_user(&pgdata)?;
        let result = self.run(
            self.command("initdb")
                .arg("-D")
                .arg(&pgdata)
                .args(["-U", SUPERUSER, "-E", "UTF8", "--no-locale"])
                .args(["--auth-host=scram-sha-256", "--auth-local=reject"])
                .arg(format!("--pwfile={}", pwfile.display())),
            "initdb",
        );
        let _ = std::fs::remove_file(&pwfile);
        result?;

        let settings = format!(
            "\n# driftwatch: loopback TCP only, no Unix socket\nlisten_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = ''\n"
        );
        let conf = pgdata.join("postgresql.conf");
        std::fs::OpenOptions::new()
            .append(true)
            .open(&conf)
            .and_then(|mut f| f.write_all(settings.as_bytes()))
            .map_err(io("writing postgresql.conf", &pgdata))?;
        std::fs::write(dir.join("port"), port.to_string())
            .map_err(io("writing the port file", dir))?;
        // The log file must be writable by the server user.
        let log = self.log_path();
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .map_err(io("creating the log file", dir))?;
        self.give_to_server_user(&log)?;
        Ok(())
    }

    fn pg_ctl(&self, args: &[&str]) -> Result<(), LocalPostgresError> {
        self.run(
            self.command("pg_ctl")
                .arg("-D")
                .arg(self.pgdata())
                .args(args),
            &format!("pg_ctl {}", args.first().copied().unwrap_or_default()),
        )
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin_dir.join(program);
        match &self.run_as {
            Some(user) => {
                let mut command = Command::new("runuser");
                command.args(["-u", user, "--"]).arg(path);
                command
            }
            None => Command::new(path),
        }
    }

    fn run(&self, command: &mut Command, name: &str) -> Result<(), LocalPostgresError> {
        let output = command
            .output()
            .map_err(io("running a PostgreSQL command", &self.data_dir))?;
        if output.status.success() {
            return Ok(());
        }
        let mut text = String::from_utf8_lossy(&output.stderr).trim().to_string();
        if text.is_empty() {
            text = String::from_utf8_lossy(&output.stdout).trim().to_string();
        }
        if let Ok(log) = std::fs::read_to_string(self.log_path()) {
            let tail: Vec<&str> = log.lines().rev().take(5).collect();
            if !tail.is_empty() {
                text.push_str("; server log: ");
                text.push_str(&tail.into_iter().rev().collect::<Vec<_>>().join(" | "));
            }
        }
        Err(LocalPostgresError::Command {
            command: name.to_string(),
            status: output.status.to_string(),
            output: text,
        })
    }

    fn give_to_server_user(&self, path: &Path) -> Result<(), LocalPostgresError> {
        let Some(user) = &self.run_as else {
            return Ok(());
        };
        self.run(Command::new("chown").arg(user).arg(path), "chown")
    }
}

/// Creates driftwatch's database if missing (the server must be running).
pub async fn ensure_database(server: &LocalPostgres) -> Result<(), sqlx::Error> {
    use sqlx::Connection;
    let mut admin = sqlx::PgConnection::connect(&server.admin_url()).await?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(DATABASE)
            .fetch_one(&mut admin)
            .await?;
    if !exists {
        // The name is a constant: nothing user-supplied reaches this statement.
        sqlx::query("CREATE DATABASE driftwatch")
            .execute(&mut admin)
            .await?;
    }
    admin.close().await
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn unprivileged_user() -> Option<String> {
    let ok = Command::new("id")
        .args(["-u", "postgres"])
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then(|| "postgres".to_string())
}

fn find_bin_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DRIFTWATCH_PG_BIN").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    // Prefer the distribution's versioned directory (highest version): its
    // binaries find their own share/ and lib/ files.
    let mut versioned: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versioned.sort();
    if let Some((_, bin)) = versioned.pop() {
        return Some(bin);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .find(|dir| dir.join("initdb").exists() && dir.join("pg_ctl").exists())
    })
}

fn free_loopback_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port())
}

fn generate_password() -> std::io::Result<String> {
    let mut bytes = [0u8; 24];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes))?;
    Ok(hex::encode(bytes))
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents.as_bytes())
}

fn read_trimmed(path: &Path) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}
