(** * The run of a vCPU with its stop test's switch as a parameter

    [Engine.run] (isolation/vm.go) reads the switch [plant.RunIgnoresStop]
    after each entry to the guest: [if vc.state != VCPURunning &&
    !plant.RunIgnoresStop] returns the stopped exit. [Engine_run_with b]
    is the text of its translation (proofs/code/Isolation.v) with that
    switch read as [b]. The translation of the code reads it as [false]
    ([CodeRunStop.Engine_run_is_with_false]); the translation with the
    planted bug ([gocoq -plant RunIgnoresStop]) is [Engine_run_with true],
    which proofs/codemutate.sh checks by compiling this file against that
    translation. This file holds definitions only, so that it compiles
    against either. *)
From Coq Require Import ZArith List Bool String.
From Bulkhead.Code Require Import GoCoq.
From Bulkhead.Code Require Abi Isolation.
Import ListNotations.
Import Isolation.
Open Scope Z_scope.
Open Scope bool_scope.

(** One entry of the run's loop: its body, the switch read as [b]. *)
Definition run_iter {S : Type} (b : bool) (e : (ptr S Engine)) (m : (ptr S vm)) (vc : (ptr S vcpu))
    (vttbr : Z) (budget : workBudget) (i : Z) : M S (step (workBudget * Z) (list Z)) :=
  let! t'7 := pfield vc vcpu_state set_vcpu_state in
  let! t'8 := store t'7 VCPURunning in
  let! t'9 := deref e in
  let! t'10 := pfield vc vcpu_ctx set_vcpu_ctx in
  let! t'11 := get_platform (Engine_plat t'9) in
  let! t'12 := trace_now in
  let! t'13 := deref t'10 in
  let '(t'14, t'15) := Platform_EnterGuest t'11 t'12 vttbr t'13 in
  let! t'16 := store t'10 t'15 in
  let! t'17 := emit "EnterGuest" [vttbr] in
  let t := t'14 in
  let! t'18 := deref vc in
  if (negb ((vcpu_state t'18) =? VCPURunning)) && (negb b) then
  let! t'19 := stoppedExit vc in
  ret (Leave t'19)
  else
  let! t'20 := pfield vc vcpu_state set_vcpu_state in
  let! t'21 := store t'20 VCPUOn in
  let work := 0 in
  let! t'22 := hvcCall t in
  let! t'39 := (if t'22 then
  let! t'23 := pfield vc vcpu_ctx set_vcpu_ctx in
  let! t'24 := pfield t'23 Context_X set_Context_X in
  let! t'25 := callWork t'24 in
  let work := t'25 in
  let! t'26 := Engine_guestTrapCall e vc in
  let '(t'27, t'28) := t'26 in
  let ex := t'27 in
  let done := t'28 in
  if done then
  ret (Jump (Leave ex))
  else
  ret (Fall work)
  else
  let! t'29 := pfield vc vcpu_ctx set_vcpu_ctx in
  let! t'30 := pfield t'29 Context_X set_Context_X in
  let! t'31 := deref e in
  let! t'32 := FilterTrap t t'30 (Config_GuestMMIO (Engine_cfg t'31)) in
  let d := t'32 in
  let! t'33 := pfield vc vcpu_ctx set_vcpu_ctx in
  let! t'34 := pfield t'33 Context_X set_Context_X in
  let! t'35 := guestWork d t'34 in
  let work := t'35 in
  let! t'36 := Engine_apply e m vc d in
  let '(t'37, t'38) := t'36 in
  let ex' := t'37 in
  let done' := t'38 in
  if done' then
  ret (Jump (Leave ex'))
  else
  ret (Fall work)) in
  match t'39 with
  | Fall work =>
  let more := false in
  let! t'40 := workBudget_spend budget work in
  let '(t'41, t'42) := t'40 in
  let budget := t'41 in
  let more := t'42 in
  if negb more then
  ret (Break (budget, i))
  else
  ret (Continue (budget, i))
  | Jump x'j => ret x'j
  end.

(** [run], the switch read as [b]: the text of the translation, its loop body [run_iter b]. *)
Definition Engine_run_with {S : Type} (b : bool) (e : (ptr S Engine)) (m : (ptr S vm)) (vc : (ptr S vcpu)) : M S (list Z) :=
  let! t'1 := pfield e Engine_pool set_Engine_pool in
  let! t'2 := deref m in
  let! t'3 := tablePool_pa t'1 (stage2_root (vm_s2 t'2)) in
  let! t'4 := deref m in
  let! t'5 := VTTBR t'3 (stage2_vmid (vm_s2 t'4)) in
  let vttbr := t'5 in
  let! t'6 := newWorkBudget in
  let budget := t'6 in
  let i := 0 in
  let! t'43 := loop (maxEntries - i)
  (fun '(budget, i) => ret (i <? maxEntries))
  (fun '(budget, i) => run_iter b e m vc vttbr budget i)
  (fun '(budget, i) => let i := wraps 64 (i + 1) in
  ret (budget, i))
  (budget, i) in
  match t'43 with
  | Fall (budget, i) =>
  ret ([4] ++ repeat 0 6)
  | Jump x'j => ret x'j
  end.
