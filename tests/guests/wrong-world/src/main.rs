//! Test guest `wrong-world`: a plain WASI command that exports `wasi:cli/run`, not the cutover world.

fn main() {
    println!("I am not a cutover policy");
}
