//! Both migration folders define the same tables with the same columns: a table or a
//! column added on one backend only fails here, not in production.
//!
//! Read from the SQL itself (every `CREATE TABLE` and `ALTER TABLE … ADD COLUMN`), so
//! the check needs no database; the conformance suite checks the behaviour on top.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Table name to column names.
type Schema = BTreeMap<String, BTreeSet<String>>;

/// Words that open a table constraint rather than a column definition.
const CONSTRAINTS: [&str; 5] = ["PRIMARY", "CHECK", "UNIQUE", "FOREIGN", "CONSTRAINT"];

/// The SQL of `dir`'s migrations in order, `--` comments removed.
fn migrations(dir: &Path) -> String {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "sql"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no migrations in {}", dir.display());
    files
        .iter()
        .flat_map(|path| {
            std::fs::read_to_string(path)
                .unwrap()
                .lines()
                .map(|line| line.split("--").next().unwrap_or("").to_owned())
                .collect::<Vec<_>>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Splits `body` at the commas outside parentheses.
fn top_level_items(body: &str) -> Vec<&str> {
    let (mut items, mut depth, mut start) = (Vec::new(), 0_i32, 0);
    for (i, c) in body.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&body[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&body[start..]);
    items
}

/// The tables and columns `sql` creates. Pure.
fn schema(sql: &str) -> Schema {
    let mut tables = Schema::new();
    let upper = sql.to_ascii_uppercase();
    let mut rest = 0;
    while let Some(found) = upper[rest..].find("CREATE TABLE ") {
        let name_at = rest + found + "CREATE TABLE ".len();
        let open = name_at + upper[name_at..].find('(').unwrap();
        let name = sql[name_at..open].trim().to_owned();
        let mut depth = 0;
        let close = sql[open..]
            .char_indices()
            .find(|&(_, c)| {
                depth += match c {
                    '(' => 1,
                    ')' => -1,
                    _ => 0,
                };
                depth == 0
            })
            .map(|(i, _)| open + i)
            .unwrap();
        let columns = top_level_items(&sql[open + 1..close])
            .into_iter()
            .filter_map(|item| item.split_whitespace().next())
            .filter(|word| !CONSTRAINTS.contains(&word.to_ascii_uppercase().as_str()))
            .map(str::to_owned)
            .collect();
        tables.insert(name, columns);
        rest = close;
    }
    for statement in sql.split(';') {
        let words: Vec<&str> = statement.split_whitespace().collect();
        if let ["ALTER", "TABLE", table, "ADD", "COLUMN", column, ..] = words.as_slice() {
            tables
                .get_mut(*table)
                .unwrap_or_else(|| panic!("ALTER of unknown table {table}"))
                .insert((*column).to_owned());
        }
    }
    tables
}

#[test]
fn the_schema_reader_finds_columns_and_skips_constraints() {
    let sql = "CREATE TABLE t (\n  a TEXT PRIMARY KEY,\n  b INTEGER CHECK (b IN (0, 1)),\n  \
               PRIMARY KEY (a, b),\n  CHECK (a = 0 OR b IS NOT NULL)\n) STRICT;\n\
               ALTER TABLE t ADD COLUMN c INTEGER NOT NULL DEFAULT 0;";
    let tables = schema(sql);
    let columns: Vec<&str> = tables["t"].iter().map(String::as_str).collect();
    assert_eq!(columns, ["a", "b", "c"]);
}

#[test]
fn both_migration_folders_define_the_same_tables_and_columns() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let sqlite = schema(&migrations(&root.join("sqlite")));
    let postgres = schema(&migrations(&root.join("postgres")));

    assert!(
        sqlite.len() >= 10,
        "the reader found too little: {sqlite:?}"
    );
    assert!(
        sqlite["users"].contains("tokens_valid_after"),
        "ALTER TABLE is read"
    );
    assert_eq!(
        sqlite.keys().collect::<Vec<_>>(),
        postgres.keys().collect::<Vec<_>>(),
        "tables"
    );
    for (table, columns) in &sqlite {
        assert_eq!(columns, &postgres[table], "columns of {table}");
    }
}
