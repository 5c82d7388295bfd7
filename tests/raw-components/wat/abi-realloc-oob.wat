;; abi-realloc-oob: cabi_realloc hands out a pointer past the end of memory for every string.
(module
  (memory (export "memory") 1)
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (i32.const 0xfffffff0))
  (data (i32.const 16) "raw ok")
  (func (export "run") (param i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)
    (i32.store8 (i32.const 0) (i32.const 0))
    (i32.store (i32.const 4) (i32.const 16))
    (i32.store (i32.const 8) (i32.const 6))
    (i32.const 0)))
