;; abi-oob-pointer: run returns ok with a summary whose pointer is far past the end of memory.
(module
  (memory (export "memory") 1)
  (global $next (mut i32) (i32.const 4096))
  ;; A bump allocator: the host lowers the invocation's strings through it.
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (local $ptr i32)
    (local.set $ptr
      (i32.and (i32.add (global.get $next) (i32.sub (local.get 2) (i32.const 1)))
               (i32.sub (i32.const 0) (local.get 2))))
    (global.set $next (i32.add (local.get $ptr) (local.get 3)))
    (if (i32.gt_u (global.get $next) (i32.shl (memory.size) (i32.const 16)))
      (then (if (i32.eq (memory.grow (i32.add (i32.shr_u (i32.sub (global.get $next)
                                                                  (i32.shl (memory.size) (i32.const 16)))
                                                         (i32.const 16))
                                              (i32.const 1)))
                        (i32.const -1))
              (then unreachable))))
    (local.get $ptr))
  (func (export "run") (param i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)
    (i32.store8 (i32.const 0) (i32.const 0))
    (i32.store (i32.const 4) (i32.const 0xffff0000))
    (i32.store (i32.const 8) (i32.const 64))
    (i32.const 0)))
