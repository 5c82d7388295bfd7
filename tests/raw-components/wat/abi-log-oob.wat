;; abi-log-oob: calls the host's log import with a string pointer past the end of memory.
(module
  ;; runtime.log(level, message): the message's pointer is past the end of memory.
  (import "cutover:policy/runtime@0.1.0" "log" (func $log (param i32 i32 i32)))
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
  (data (i32.const 16) "raw ok")
  (func (export "run") (param i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)
    (call $log (i32.const 1) (i32.const 0xffffff00) (i32.const 4096))
    (i32.store8 (i32.const 0) (i32.const 0))
    (i32.store (i32.const 4) (i32.const 16))
    (i32.store (i32.const 8) (i32.const 6))
    (i32.const 0)))
