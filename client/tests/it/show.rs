//! `show` and `list-cidrs`: collecting the views, and rendering them.

mod collect;
mod render;
