//! The global, commit-ordered feed. SQL lives in `sql/`, registered here.
