//! A query builder for statements whose shape depends on the input (filters, IN lists, multi-row
//! inserts). sqlx's `QueryBuilder` writes `?` placeholders for the Any driver, which PostgreSQL
//! does not accept; this one numbers them (`$1`, `$2` ...), which both databases do.

use sqlx::any::{Any, AnyArguments};
use sqlx::query::{Query, QueryScalar};
use sqlx::{Arguments, Encode, Type};
use std::fmt::Write;

pub struct Sql<'a> {
    text: String,
    args: AnyArguments<'a>,
    count: usize,
}

impl<'a> Sql<'a> {
    pub fn new(init: impl Into<String>) -> Self {
        Sql {
            text: init.into(),
            args: AnyArguments::default(),
            count: 0,
        }
    }

    pub fn push(&mut self, sql: impl std::fmt::Display) -> &mut Self {
        // Writing to a String cannot fail.
        let _ = write!(self.text, "{sql}");
        self
    }

    /// Appends the next placeholder and binds `value` to it.
    #[allow(
        clippy::expect_used,
        reason = "binding a String or i64, the only values the builder takes, cannot fail"
    )]
    pub fn push_bind<T>(&mut self, value: T) -> &mut Self
    where
        T: 'a + Encode<'a, Any> + Type<Any>,
    {
        // Encoding the Any driver's value kinds cannot fail.
        self.args.add(value).expect("bind a value");
        self.count += 1;
        let _ = write!(self.text, "${}", self.count);
        self
    }

    /// `(id, id, ...)`, each bound: the list of an `IN`.
    pub fn push_in_list(&mut self, ids: &'a [String]) -> &mut Self {
        self.push("(");
        let mut sep = self.separated(", ");
        for id in ids {
            sep.push_bind(id.as_str());
        }
        sep.push_unseparated(")");
        self
    }

    /// Items written with `separator` between them (a column list, an IN list).
    pub fn separated<'b>(&'b mut self, separator: &'static str) -> Separated<'b, 'a> {
        Separated {
            sql: self,
            separator,
            first: true,
        }
    }

    /// `VALUES (..), (..)`: one parenthesised tuple per item, written by `each`.
    pub fn push_values<I, F>(&mut self, items: I, mut each: F) -> &mut Self
    where
        I: IntoIterator,
        F: FnMut(Separated<'_, 'a>, I::Item),
    {
        self.push("VALUES ");
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.push("(");
            each(self.separated(", "), item);
            self.push(")");
        }
        self
    }

    pub fn sql(&self) -> &str {
        &self.text
    }

    /// The statement with its arguments; the builder is left empty.
    pub fn build(&mut self) -> Query<'_, Any, AnyArguments<'_>> {
        let args = std::mem::take(&mut self.args);
        sqlx::query_with(&self.text, args)
    }

    pub fn build_query_scalar<O>(&mut self) -> QueryScalar<'_, Any, O, AnyArguments<'_>>
    where
        O: Send + Unpin,
        (O,): for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>,
    {
        let args = std::mem::take(&mut self.args);
        sqlx::query_scalar_with(&self.text, args)
    }
}

pub struct Separated<'b, 'a> {
    sql: &'b mut Sql<'a>,
    separator: &'static str,
    first: bool,
}

impl<'a> Separated<'_, 'a> {
    fn next(&mut self) {
        if !self.first {
            self.sql.push(self.separator);
        }
        self.first = false;
    }

    /// The separator (unless first), then `sql`.
    pub fn push(&mut self, sql: impl std::fmt::Display) -> &mut Self {
        self.next();
        self.sql.push(sql);
        self
    }

    /// The separator (unless first), then a placeholder bound to `value`.
    pub fn push_bind<T>(&mut self, value: T) -> &mut Self
    where
        T: 'a + Encode<'a, Any> + Type<Any>,
    {
        self.next();
        self.sql.push_bind(value);
        self
    }

    /// `sql` with no separator before it.
    pub fn push_unseparated(&mut self, sql: impl std::fmt::Display) -> &mut Self {
        self.sql.push(sql);
        self
    }

    /// A placeholder with no separator before it.
    pub fn push_bind_unseparated<T>(&mut self, value: T) -> &mut Self
    where
        T: 'a + Encode<'a, Any> + Type<Any>,
    {
        self.sql.push_bind(value);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_in_order() {
        let mut q = Sql::new("SELECT * FROM t WHERE a = ");
        q.push_bind("x").push(" AND b IN (");
        let mut s = q.separated(", ");
        for v in [1i64, 2, 3] {
            s.push_bind(v);
        }
        q.push(")");
        assert_eq!(q.sql(), "SELECT * FROM t WHERE a = $1 AND b IN ($2, $3, $4)");
    }

    #[test]
    fn in_lists_bind_every_id() {
        let ids = ["a".to_string(), "b".to_string()];
        let mut q = Sql::new("SELECT * FROM t WHERE g = ");
        q.push_bind("x")
            .push(" AND id IN ")
            .push_in_list(&ids)
            .push(" ORDER BY id");
        assert_eq!(
            q.sql(),
            "SELECT * FROM t WHERE g = $1 AND id IN ($2, $3) ORDER BY id"
        );
    }

    #[test]
    fn values_are_tuples() {
        let mut q = Sql::new("INSERT INTO t (a, b) ");
        q.push_values([("x", 1i64), ("y", 2)], |mut b, (s, n)| {
            b.push_bind(s).push_bind(n);
        });
        assert_eq!(q.sql(), "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)");
    }
}
