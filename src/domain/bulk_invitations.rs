//! A list of people to invite at once, pasted or uploaded as CSV (`email,role` per line): the
//! lines read from the text, and each row weighed as it would be by a single invitation.

use super::policy;
use super::{Email, Invalid, PermissionSet, Role, RoleId};

/// The most rows invited at once: a preview of this many is still one page, one transaction.
pub const MAX_ROWS: usize = 1_000;

/// One line of the list as typed: where it was (1-based, counting every line of the text), its
/// email cell and its role cell, trimmed and unquoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub number: usize,
    pub email: String,
    pub role: String,
    /// Whether the line had more than two cells (a trailing empty one aside).
    pub extra_cells: bool,
}

/// The cells of one CSV line: split on commas outside double quotes, a quoted cell's `""` read
/// as one quote, each cell trimmed.
fn cells(line: &str) -> Vec<String> {
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cell.push('"');
                chars.next();
            }
            '"' if quoted => quoted = false,
            '"' if cell.trim().is_empty() => {
                cell.clear();
                quoted = true;
            }
            ',' if !quoted => cells.push(std::mem::take(&mut cell).trim().to_string()),
            c => cell.push(c),
        }
    }
    cells.push(cell.trim().to_string());
    cells
}

/// Whether `cells` is the optional header line `email,role`.
fn is_header(cells: &[String]) -> bool {
    cells.len() >= 2 && cells[0].eq_ignore_ascii_case("email") && cells[1].eq_ignore_ascii_case("role")
}

/// The rows of a pasted or uploaded list: one per non-blank line, the header line `email,role`
/// (any letter case, first line only) left out. A byte-order mark and CRLF line ends are
/// accepted, as spreadsheets write them. More than [`MAX_ROWS`] rows is refused whole.
pub fn parse_lines(text: &str) -> Result<Vec<Line>, Invalid> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = Vec::new();
    let mut first = true;
    for (index, raw) in text.split('\n').enumerate() {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if raw.trim().is_empty() {
            continue;
        }
        let mut cells = cells(raw);
        if std::mem::take(&mut first) && is_header(&cells) {
            continue;
        }
        if cells.len() > 2 && cells.last().is_some_and(String::is_empty) {
            cells.pop();
        }
        let extra_cells = cells.len() > 2;
        let mut cells = cells.into_iter();
        let email = cells.next().unwrap_or_default();
        let role = cells.next().unwrap_or_default();
        lines.push(Line { number: index + 1, email, role, extra_cells });
    }
    if lines.len() > MAX_ROWS {
        return Err(Invalid::new(
            "rows",
            format!(
                "The list has {} rows; at most {} people can be invited at once. Split the list and send each part in turn.",
                thousands(lines.len()),
                thousands(MAX_ROWS)
            ),
        ));
    }
    Ok(lines)
}

/// `1000` as `1,000`, as the pages write counts.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A custom role a row may name, with what it allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedRole {
    pub id: RoleId,
    pub name: String,
    pub permissions: PermissionSet,
}

/// What an invitation of a row gives: a built-in role, or a custom role on top of `viewer`
/// (every member has a built-in role; `viewer` is the one that adds nothing to the custom role
/// but seeing the deployments).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    Base(Role),
    Custom(NamedRole),
}

impl Grant {
    /// The built-in role the invitation gives.
    pub fn base(&self) -> Role {
        match self {
            Grant::Base(role) => *role,
            Grant::Custom(_) => Role::Viewer,
        }
    }

    /// The role as the preview names it.
    pub fn label(&self) -> String {
        match self {
            Grant::Base(role) => role.label().to_string(),
            Grant::Custom(role) => format!("{} (and Viewer)", role.name),
        }
    }

    /// The role as a row of the list writes it: the built-in role's name or the custom role's.
    pub fn cell(&self) -> String {
        match self {
            Grant::Base(role) => role.as_str().to_string(),
            Grant::Custom(role) => role.name.clone(),
        }
    }
}

/// Where an address stands in the organization now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Neither a member nor invited.
    Free,
    ActiveMember,
    InactiveMember,
    /// A pending invitation (expired ones too: Resend sends it again).
    Invited,
}

/// Why a row will not be invited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// More than two cells on the line.
    Malformed,
    BadEmail(String),
    /// The same address on an earlier line (its number).
    Duplicate(usize),
    AlreadyMember,
    AlreadyMemberInactive,
    AlreadyInvited,
    MissingRole,
    UnknownRole(String),
    /// The actor may not give this role; why.
    MayNotGrant(String),
}

impl Reason {
    /// A short name of the reason, for the page's markup and for scripts reading it.
    pub fn code(&self) -> &'static str {
        match self {
            Reason::Malformed => "malformed",
            Reason::BadEmail(_) => "bad_email",
            Reason::Duplicate(_) => "duplicate",
            Reason::AlreadyMember | Reason::AlreadyMemberInactive => "member",
            Reason::AlreadyInvited => "invited",
            Reason::MissingRole | Reason::UnknownRole(_) => "unknown_role",
            Reason::MayNotGrant(_) => "not_grantable",
        }
    }

    pub fn message(&self) -> String {
        match self {
            Reason::Malformed => "Write one email address and one role per line, separated by a comma.".into(),
            Reason::BadEmail(why) => why.clone(),
            Reason::Duplicate(first) => format!("Duplicate: this address is already on line {first}."),
            Reason::AlreadyMember => "Already a member of this organization.".into(),
            Reason::AlreadyMemberInactive => "Already a member of this organization (deactivated). Activate them instead.".into(),
            Reason::AlreadyInvited => "An invitation is already pending. Use Resend on its row to send it again.".into(),
            Reason::MissingRole => "No role: write the role after the address, like ada@example.com,viewer.".into(),
            Reason::UnknownRole(name) => {
                format!("Unknown role {name:?}: use admin, editor, viewer or the name of one of this organization's roles.")
            }
            Reason::MayNotGrant(why) => why.clone(),
        }
    }
}

/// One row weighed: the line, and either what it would be invited as or why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub line: Line,
    pub verdict: Result<(Email, Grant), Reason>,
}

impl Row {
    pub fn is_valid(&self) -> bool {
        self.verdict.is_ok()
    }
}

/// The role a cell names: a built-in role by its name, or one of `custom` by its name, in any
/// letter case.
fn find_role(cell: &str, custom: &[NamedRole]) -> Result<Grant, Reason> {
    let key = cell.trim().to_lowercase();
    if key.is_empty() {
        return Err(Reason::MissingRole);
    }
    if let Some(role) = Role::parse(&key) {
        return Ok(Grant::Base(role));
    }
    custom
        .iter()
        .find(|r| r.name.trim().to_lowercase() == key)
        .map(|r| Grant::Custom(r.clone()))
        .ok_or_else(|| Reason::UnknownRole(cell.trim().to_string()))
}

/// Whether someone holding `held` may give `grant`, by the rule of a single invitation: never
/// `owner`, never a role holding a permission they do not hold.
fn may_give(held: PermissionSet, grant: &Grant) -> Result<(), Reason> {
    let refused = |r: policy::Refusal| Reason::MayNotGrant(r.message());
    policy::can_grant(held, grant.base()).map_err(refused)?;
    if let Grant::Custom(role) = grant {
        policy::can_handle_role(held, role.permissions).map_err(refused)?;
    }
    Ok(())
}

/// Weighs every line for someone holding `held`, with the organization's custom roles and where
/// each address stands (`standing`). A row gets the first reason that applies, in this order:
/// its shape, its address, a duplicate of an earlier line (the first one keeps its place), its
/// role, whether the actor may give it, then the address's standing.
pub fn classify(lines: &[Line], held: PermissionSet, custom: &[NamedRole], standing: impl Fn(&Email) -> Standing) -> Vec<Row> {
    let mut seen: std::collections::HashMap<Email, usize> = std::collections::HashMap::new();
    lines
        .iter()
        .map(|line| {
            let verdict = (|| {
                if line.extra_cells {
                    return Err(Reason::Malformed);
                }
                let email = Email::parse(&line.email).map_err(|e| Reason::BadEmail(e.message))?;
                if let Some(first) = seen.get(&email) {
                    return Err(Reason::Duplicate(*first));
                }
                seen.insert(email.clone(), line.number);
                let grant = find_role(&line.role, custom)?;
                may_give(held, &grant)?;
                match standing(&email) {
                    Standing::Free => Ok((email, grant)),
                    Standing::ActiveMember => Err(Reason::AlreadyMember),
                    Standing::InactiveMember => Err(Reason::AlreadyMemberInactive),
                    Standing::Invited => Err(Reason::AlreadyInvited),
                }
            })();
            Row { line: line.clone(), verdict }
        })
        .collect()
}

/// The addresses of `lines` that parse, for looking up where they stand in one query.
pub fn emails(lines: &[Line]) -> Vec<Email> {
    let mut out: Vec<Email> = lines.iter().filter_map(|l| Email::parse(&l.email).ok()).collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Permission;

    fn line(number: usize, email: &str, role: &str) -> Line {
        Line { number, email: email.into(), role: role.into(), extra_cells: false }
    }

    fn reasons(rows: &[Row]) -> Vec<Option<&'static str>> {
        rows.iter().map(|r| r.verdict.as_ref().err().map(Reason::code)).collect()
    }

    #[test]
    fn a_header_blank_lines_crlf_and_a_byte_order_mark_are_read_as_a_spreadsheet_writes_them() {
        let text = "\u{feff}Email,Role\r\nada@example.com,admin\r\n\r\n  bob@example.com , Viewer \r\n";
        assert_eq!(parse_lines(text).unwrap(), vec![line(2, "ada@example.com", "admin"), line(4, "bob@example.com", "Viewer")]);
        // without a header the first line is a row
        assert_eq!(parse_lines("ada@example.com,editor").unwrap(), vec![line(1, "ada@example.com", "editor")]);
        // a header further down is a row like any other (and a bad one)
        assert_eq!(parse_lines("a@example.com,viewer\nemail,role").unwrap().len(), 2);
    }

    #[test]
    fn quoted_cells_and_a_trailing_comma_are_accepted() {
        let rows = parse_lines("\"ada@example.com\",\"On call, nights\"\nbob@example.com,viewer,\n\"c\"\"d\",viewer").unwrap();
        assert_eq!(rows[0], line(1, "ada@example.com", "On call, nights"));
        assert_eq!(rows[1], line(2, "bob@example.com", "viewer"));
        assert_eq!(rows[2].email, "c\"d");
        let extra = parse_lines("ada@example.com,viewer,admin").unwrap();
        assert!(extra[0].extra_cells);
    }

    #[test]
    fn at_most_a_thousand_rows_are_read() {
        let rows = |n: usize| (0..n).map(|i| format!("p{i}@example.com,viewer\n")).collect::<String>();
        assert_eq!(parse_lines(&format!("email,role\n{}", rows(MAX_ROWS))).unwrap().len(), MAX_ROWS);
        let error = parse_lines(&rows(MAX_ROWS + 1)).unwrap_err();
        assert_eq!(error.field, "rows");
        assert!(error.message.contains("1,001 rows") && error.message.contains("at most 1,000"), "{}", error.message);
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn each_row_gets_the_reason_a_single_invitation_would_give() {
        let support = NamedRole {
            id: RoleId::new(),
            name: "Support".into(),
            permissions: PermissionSet::of(&[Permission::MembersRead]),
        };
        let lines = vec![
            line(1, "ada@example.com", "admin"),
            line(2, "not an email", "viewer"),
            line(3, "member@example.com", "viewer"),
            line(4, "invited@example.com", "viewer"),
            line(5, "bob@example.com", "wizard"),
            line(6, "ADA@example.com", "viewer"),
            line(7, "carl@example.com", "owner"),
            line(8, "dora@example.com", "support"),
            line(9, "eve@example.com", ""),
            line(10, "gone@example.com", "editor"),
            Line { extra_cells: true, ..line(11, "x@example.com", "viewer") },
        ];
        let standing = |e: &Email| match e.as_str() {
            "member@example.com" => Standing::ActiveMember,
            "gone@example.com" => Standing::InactiveMember,
            "invited@example.com" => Standing::Invited,
            _ => Standing::Free,
        };
        let rows = classify(&lines, Role::Admin.permissions(), std::slice::from_ref(&support), standing);
        assert_eq!(
            reasons(&rows),
            vec![
                None,
                Some("bad_email"),
                Some("member"),
                Some("invited"),
                Some("unknown_role"),
                Some("duplicate"),
                Some("not_grantable"),
                None,
                Some("unknown_role"),
                Some("member"),
                Some("malformed"),
            ]
        );
        assert_eq!(rows[5].verdict.as_ref().unwrap_err(), &Reason::Duplicate(1));
        assert!(rows[6].verdict.as_ref().unwrap_err().message().contains("transferring ownership"));
        let (email, grant) = rows[7].verdict.as_ref().unwrap();
        assert_eq!((email.as_str(), grant.base(), grant.cell()), ("dora@example.com", Role::Viewer, "Support".to_string()));
        assert!(rows[9].verdict.as_ref().unwrap_err().message().contains("Activate them instead"));
    }

    #[test]
    fn nobody_invites_into_a_role_holding_more_than_they_do() {
        let ops = NamedRole { id: RoleId::new(), name: "Ops".into(), permissions: PermissionSet::of(&[Permission::OrgManage]) };
        let held = PermissionSet::of(&[Permission::MembersInvite, Permission::DeploymentsRead]);
        let lines = vec![line(1, "a@example.com", "viewer"), line(2, "b@example.com", "admin"), line(3, "c@example.com", "ops")];
        let rows = classify(&lines, held, &[ops], |_| Standing::Free);
        assert_eq!(reasons(&rows), vec![None, Some("not_grantable"), Some("not_grantable")]);
        assert!(rows[1].verdict.as_ref().unwrap_err().message().contains("permissions you do not hold"));
    }

    #[test]
    fn a_duplicate_of_an_invalid_address_is_not_a_duplicate_and_the_first_line_keeps_its_place() {
        let lines = vec![line(1, "bad", "viewer"), line(2, "bad", "viewer"), line(3, "a@example.com", "wizard"), line(4, "a@example.com", "viewer")];
        let rows = classify(&lines, Role::Owner.permissions(), &[], |_| Standing::Free);
        assert_eq!(reasons(&rows), vec![Some("bad_email"), Some("bad_email"), Some("unknown_role"), Some("duplicate")]);
        assert_eq!(emails(&lines).len(), 1);
    }
}
