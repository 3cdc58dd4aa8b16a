//! A small command-line reader: `--flag value` options and positional arguments, with
//! errors that say which argument was wrong.

use crate::error::{Error, Result};

/// The arguments after the subcommand name.
pub struct Args {
    /// Arguments not consumed yet.
    rest: Vec<String>,
    /// The subcommand, for messages.
    command: &'static str,
}

impl Args {
    /// Wraps `rest` (the arguments after the subcommand).
    pub fn new(command: &'static str, rest: Vec<String>) -> Args {
        Args { rest, command }
    }

    /// Removes and returns every value of `--name VALUE` (also `--name=VALUE`).
    pub fn values(&mut self, name: &str) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < self.rest.len() {
            if self.rest[i] == name {
                if i + 1 >= self.rest.len() {
                    return Err(Error::invalid(format!(
                        "{}: {name} needs a value",
                        self.command
                    )));
                }
                out.push(self.rest.remove(i + 1));
                self.rest.remove(i);
            } else if let Some(v) = self.rest[i].strip_prefix(&format!("{name}=")) {
                out.push(v.to_owned());
                self.rest.remove(i);
            } else {
                i += 1;
            }
        }
        Ok(out)
    }

    /// Removes and returns the single value of `--name`, if given (twice is an error).
    pub fn value(&mut self, name: &str) -> Result<Option<String>> {
        let mut v = self.values(name)?;
        if v.len() > 1 {
            return Err(Error::invalid(format!(
                "{}: {name} given more than once",
                self.command
            )));
        }
        Ok(v.pop())
    }

    /// Removes `--name` if present.
    pub fn flag(&mut self, name: &str) -> bool {
        let before = self.rest.len();
        self.rest.retain(|a| a != name);
        self.rest.len() != before
    }

    /// The remaining arguments as positionals, between `min` and `max` of them.
    pub fn positionals(self, min: usize, max: usize) -> Result<Vec<String>> {
        if let Some(opt) = self.rest.iter().find(|a| a.starts_with("--")) {
            return Err(Error::invalid(format!(
                "{}: unknown option {opt}",
                self.command
            )));
        }
        if self.rest.len() < min || self.rest.len() > max {
            return Err(Error::invalid(format!(
                "{}: expected {} argument(s), got {}",
                self.command,
                if min == max {
                    min.to_string()
                } else {
                    format!("{min} to {max}")
                },
                self.rest.len()
            )));
        }
        Ok(self.rest)
    }
}
