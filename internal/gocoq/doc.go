// Package gocoq translates the Go subset the isolation core is written in
// into Coq 8.16 with its standard library only, so that proofs can be about
// the code that runs at EL2 rather than about a model of it. It is also the
// subset's lint: every construct it does not translate is reported as
// file:line: construct, and the declarations that use one are left out.
//
// cmd/gocoq is the command; proofs/gocoq.sh regenerates proofs/code/ with it,
// fails if the committed translation differs, and compiles the translation
// and the proofs about it. The design follows Goose (Perennial) in spirit,
// smaller and shallower: Go values are Coq values, not a deep embedding.
//
// # What a Go construct becomes
//
//   - Integers of every width and sign are Z, kept in the range of their type:
//     +, -, *, <<, unary - and ^ wrap with wrapu w (mod 2^w) or wraps w (two's
//     complement), as Go's arithmetic does. Z rather than N because the core
//     has signed types (int, abi.Status); rather than a bit-vector library
//     because Debian's Coq 8.16 has none for 64 bits in its standard library,
//     and Z has lia, Z.mod and Z.land lemmas and computes in binary.
//   - bool is bool, string is string; a named type is a Definition of its
//     underlying type; a struct is a Record with projections T_f, setters
//     set_T_f and a zero value zero_T; arrays and slices are lists (an
//     array's list keeps its length, since only elements are replaced).
//     Constants are their exact values (go/constant); a package variable no
//     function assigns is a Definition of its initial value.
//   - A function or method is a Definition into the monad M S A = S -> trace
//     -> outcome, polymorphic in the memory S; the receiver is the first
//     argument. An outcome is Ok value memory trace or Fail failure: index
//     out of range, nil dereference, division by zero, negative shift count,
//     panic(msg), and OutOfFuel for a loop that would exceed its bound.
//   - A pointer is nil or a place: how to load and store what it points to
//     in S. &x.f and &a[i] build places from a pointer's place; &a[i] checks
//     the index when it is taken, as Go does. An entry point's receiver is
//     root, the whole of S. Pointers are never compared except with nil.
//   - Locals are Coq let bindings; an assignment rebinds (shadows) the name.
//     An if whose branches both fall through returns the locals they assign
//     (or a Jump for a return, break or continue leaving it); a branch that
//     never falls through takes the statements after the if into the other.
//     switch is a chain of ifs, default last.
//   - A loop is GoCoq.loop over the tuple of locals it assigns, with a fuel:
//     the trip count of a counted loop (i := a; i < b; i++, b a value, i
//     left alone), the length of a range, or max_fuel (2^64) otherwise.
//     Fuel never changes a result; a fuel too small only adds the OutOfFuel
//     outcome, which a proof of absence of failure must exclude. The fuel is
//     a positive walked bit by bit, so 2^64 costs nothing until spent.
//   - A pointer parameter that the function only reads through, and to
//     which every caller passes the address of one of its locals (or such a
//     parameter of its own), is passed by value: nothing else can reach the
//     local during the call. This is the one use the core makes of &local.
//   - A slice parameter that the function only reads (indexes for a value,
//     ranges over, takes the length of, or passes on to such a parameter)
//     is a list passed by value.
//   - copy(a[lo:hi], src) as a statement, where a is an array (a local or
//     one reached through a pointer), checks the window as a slice
//     expression does and replaces its first min(hi-lo, len src) elements
//     with src's (copy_into); its count is not translated.
//   - Functions that call each other in a cycle are one Fixpoint with a
//     depth fuel: each call inside the group spends one, a call from outside
//     gives rec_fuel (64), and a deeper recursion is OutOfFuel.
//   - A call through the Platform interface (the one interface of the core)
//     appends an event, its method name and integer arguments, to the
//     trace; a nil interface value (None) is a nil dereference. A non-nil
//     value is a platform, a record that holds for each method with a
//     result the platform's answer, a function of the trace so far and the
//     arguments: it gives the result and the new value behind each pointer
//     argument, which is stored there (EnterGuest returns the trap and the
//     guest's registers). A proof about such a call holds for every
//     platform, which is how the arch code and the guest stay untrusted.
//     An answer is any value of its Coq type, so a list may have another
//     length than the Go array it stands for: a proof that needs the
//     lengths says so of the platform.
//   - Variables of the internal/plant package are its planted-bug switches,
//     false in every image: they are read as false, except the one switch
//     Options.TrueVars turns on (gocoq -plant Name), read as true, which
//     translates the core with that bug planted.
//
// # What is refused
//
// Goroutines, defer, select, channels, maps, closures and function values,
// labels, goto, fallthrough, type switches and assertions, generics,
// interfaces other than Platform, Platform methods with more than one result
// or with arguments neither integers nor pointers, allocation (make, new,
// &T{}, append), copy into anything but a window of an array, or used for
// its count, calls to packages that are not translated (errors, fmt; of
// math/bits only LeadingZeros64 is defined), the address of a local other
// than for a read-only parameter, the address of a package variable,
// pointers inside struct types, recursive types, local variables of slice
// type and slice parameters written through, reassigned or escaping (a
// copied slice header aliases its backing array, which lists do not model),
// a break inside a switch, and a call inside the target of an op-assignment.
//
// # What the translation assumes
//
// The translation is trusted: a proof about proofs/code is a proof about
// the Go only as far as gocoq and GoCoq.v are right. Beyond that it assumes
// that no two slices the core writes share a backing array (the core only
// makes slices in New), that no slice field is replaced while a range
// over it runs, and that nothing writes the backing array of a read-only
// slice parameter during the call (the core passes only its configuration's
// ranges); that operands are evaluated left to right, which Go fixes
// for calls but not for the reads of variables beside them (the core never
// reads in one expression what a call in it writes); that an int is 64 bits (arm64, and the hosts the
// tests run on), and that the Platform calls do not write the engine's
// memory other than through their pointer arguments (EnterGuest: the
// vCPU's Context), whose new values any platform may choose (the arch code
// and its assembly are outside the translation).
package gocoq
