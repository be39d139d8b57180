//! A small SMTP server on loopback: lettre holds a real SMTP conversation, tests read what came.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Delivered {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

impl Delivered {
    /// The message with quoted-printable soft line breaks and `=3D` undone.
    pub fn decoded(&self) -> String {
        self.data.replace("=\r\n", "").replace("=3D", "=")
    }

    /// The invitation token in the message's link.
    pub fn invitation_token(&self) -> Option<String> {
        let text = self.decoded();
        let at = text.find("/invitations/")? + "/invitations/".len();
        let token: String = text[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
        (token.len() == 43).then_some(token)
    }
}

pub struct SmtpServer {
    pub port: u16,
    delivered: Arc<Mutex<Vec<Delivered>>>,
    /// When set, every recipient is refused (a mail server that is down for us).
    refuse: Arc<Mutex<bool>>,
}

impl SmtpServer {
    pub fn start() -> SmtpServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind smtp");
        let port = listener.local_addr().expect("addr").port();
        let delivered = Arc::new(Mutex::new(Vec::new()));
        let refuse = Arc::new(Mutex::new(false));
        let (d, r) = (delivered.clone(), refuse.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (d, r) = (d.clone(), r.clone());
                std::thread::spawn(move || {
                    let _ = session(stream, &d, &r);
                });
            }
        });
        SmtpServer { port, delivered, refuse }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn refuse_all(&self, on: bool) {
        *self.refuse.lock().expect("lock") = on;
    }

    pub fn delivered(&self) -> Vec<Delivered> {
        self.delivered.lock().expect("lock").clone()
    }

    /// Waits (a little) for the first message to `to` whose text holds `needle`.
    pub async fn wait_for_mail(&self, to: &str, needle: &str) -> Delivered {
        for _ in 0..500 {
            let found = self.delivered().into_iter().find(|m| m.to.iter().any(|t| t == to) && m.decoded().contains(needle));
            if let Some(mail) = found {
                return mail;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("no message to {to} holding {needle:?}; got {:?}", self.delivered().iter().map(|m| &m.to).collect::<Vec<_>>());
    }

    /// Waits (a little) until `n` messages have arrived.
    pub async fn wait_for(&self, n: usize) -> Vec<Delivered> {
        for _ in 0..100 {
            let got = self.delivered();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("expected {n} messages, got {}", self.delivered().len());
    }
}

fn session(stream: TcpStream, delivered: &Mutex<Vec<Delivered>>, refuse: &Mutex<bool>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut out = stream.try_clone()?;
    let mut lines = BufReader::new(stream);
    out.write_all(b"220 localhost ESMTP steward-test\r\n")?;
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_string();
        let upper = command.to_ascii_uppercase();
        if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            out.write_all(b"250-localhost\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")?;
        } else if upper.starts_with("MAIL FROM:") {
            from = command[10..].trim().trim_matches(['<', '>']).to_string();
            to.clear();
            out.write_all(b"250 OK\r\n")?;
        } else if upper.starts_with("RCPT TO:") {
            if *refuse.lock().expect("lock") {
                out.write_all(b"550 mailbox unavailable\r\n")?;
            } else {
                to.push(command[8..].trim().trim_matches(['<', '>']).to_string());
                out.write_all(b"250 OK\r\n")?;
            }
        } else if upper == "DATA" {
            out.write_all(b"354 end data with <CR><LF>.<CR><LF>\r\n")?;
            let mut data = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line)? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
            }
            delivered.lock().expect("lock").push(Delivered { from: from.clone(), to: to.clone(), data });
            out.write_all(b"250 OK queued\r\n")?;
        } else if upper == "QUIT" {
            out.write_all(b"221 bye\r\n")?;
            return Ok(());
        } else if upper == "RSET" || upper == "NOOP" {
            out.write_all(b"250 OK\r\n")?;
        } else {
            out.write_all(b"502 command not implemented\r\n")?;
        }
    }
}
