//! The [`Validator`] that stage configs report problems to. Stages name only the field;
//! the engine adds the `stages.<id>.` prefix, the file and the line.

/// A problem found by a stage's `validate`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Field name inside the stage table (may be dotted for nested tables).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// Collects errors and warnings from pure config checks.
#[derive(Debug, Default)]
pub struct Validator {
    /// Errors: the run will not start.
    pub errors: Vec<Finding>,
    /// Warnings: printed, the run goes on (a threshold that can never fire …).
    pub warnings: Vec<Finding>,
}

impl Validator {
    /// Records an error on a field.
    pub fn error(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(Finding {
            field: field.into(),
            message: message.into(),
        });
    }

    /// Records a warning on a field.
    pub fn warn(&mut self, field: &str, message: impl Into<String>) {
        self.warnings.push(Finding {
            field: field.into(),
            message: message.into(),
        });
    }

    /// Checks `lo <= x <= hi`, with the message format used everywhere.
    pub fn range<T: PartialOrd + std::fmt::Display>(&mut self, field: &str, x: T, lo: T, hi: T) {
        if !(x >= lo && x <= hi) {
            self.error(field, format!("must be in [{lo}, {hi}], got {x}"));
        }
    }

    /// Checks `x >= lo`.
    pub fn at_least<T: PartialOrd + std::fmt::Display>(&mut self, field: &str, x: T, lo: T) {
        if x.partial_cmp(&lo)
            .is_none_or(|o| o == std::cmp::Ordering::Less)
        {
            self.error(field, format!("must be at least {lo}, got {x}"));
        }
    }

    /// Checks that a list is not empty.
    pub fn non_empty<T>(&mut self, field: &str, xs: &[T]) {
        if xs.is_empty() {
            self.error(field, "must not be empty");
        }
    }
}
