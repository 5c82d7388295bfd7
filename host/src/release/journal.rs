//! The undo journal of a revision: what each mutating call will change, and how to undo it.
