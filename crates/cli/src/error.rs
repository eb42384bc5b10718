//! The one error type: a single line for a person, and an exit status.

use std::fmt;

/// What went wrong, as one line that never contains the API key or a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    message: String,
    usage: bool,
}

impl CliError {
    /// A failure while running (Salesloft, AWS, the secret's content): exit status 1.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: one_line(&message.into()),
            usage: false,
        }
    }

    /// Wrong arguments or environment: exit status 2 (as for argument parsing errors).
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            message: one_line(&message.into()),
            usage: true,
        }
    }

    /// 2 for a usage error, else 1.
    pub fn exit_code(&self) -> i32 {
        if self.usage {
            2
        } else {
            1
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

/// `text` on one line: runs of whitespace (newlines included) become one space.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_line() {
        let e = CliError::new("first\n  second\r\nthird");
        assert_eq!(e.to_string(), "first second third");
        assert_eq!(e.exit_code(), 1);
        assert_eq!(CliError::usage("x").exit_code(), 2);
    }
}
