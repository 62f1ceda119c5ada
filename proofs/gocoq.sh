#!/bin/sh
# Regenerates the Coq translation of the isolation core (proofs/code/, made
# by cmd/gocoq, never edited by hand), fails if the committed translation
# differs from it, then compiles it and the proofs about it.
#
#   proofs/gocoq.sh          check
#   proofs/gocoq.sh -update  rewrite proofs/code/ from the Go sources
set -eu
cd "$(dirname "$0")/.."
start=$(date +%s)
PKGS="bulkhead/isolation/abi bulkhead/isolation"
# proofs/code is inside proofs/, so coqc warns that its -Q remaps it: the
# warning is dropped, every other message is shown.
COQC="coqc -q -Q specs Bulkhead.Spec -Q proofs Bulkhead.Proofs -Q proofs/code Bulkhead.Code"
coq() {
	if ! $COQC "$1" 2> build/coqc.err; then cat build/coqc.err >&2; exit 1; fi
	grep -v -e 'remapped to' -e 'previously bound' -e 'overriding-logical-loadpath' -e '^Bulkhead' build/coqc.err >&2 || true
}
mkdir -p build
go build -o build/gocoq ./cmd/gocoq
if [ "${1:-}" = "-update" ]; then
	rm -f proofs/code/*.v
	build/gocoq -o proofs/code $PKGS > build/gocoq-refused.txt
	echo "gocoq: proofs/code regenerated; refused constructs in build/gocoq-refused.txt"
	exit 0
fi
rm -rf build/gocoq-fresh
mkdir -p build/gocoq-fresh
build/gocoq -o build/gocoq-fresh $PKGS > build/gocoq-refused.txt 2> build/gocoq-stats.txt
grep -v '^left out' build/gocoq-stats.txt
if ! diff -r -x '*.vo*' -x '*.glob' -x '.*.aux' build/gocoq-fresh proofs/code > build/gocoq.diff; then
	echo "gocoq: proofs/code is not the translation of the Go sources (see build/gocoq.diff); run proofs/gocoq.sh -update" >&2
	exit 1
fi
echo "gocoq: proofs/code matches the Go sources ($(wc -l < build/gocoq-refused.txt) constructs refused, listed in build/gocoq-refused.txt)"

# The proofs about the translation, and their assumptions: none may be
# admitted, and each theorem must be closed under the global context.
# CodeModelThms states the model's theorems of the calls refined so far,
# so the model's proofs it uses (Invariants, Scrub, Protected) are
# compiled here too; their one section variable, the configuration, is
# allowed as in proofs/check.sh.
CODE_PROOFS="proofs/CodeAbi.v proofs/CodeLedger.v proofs/CodePlace.v proofs/CodeVCPU.v proofs/CodeTrack.v proofs/CodeVCPUInit.v proofs/CodeLoop.v proofs/CodeLens.v proofs/CodeVMCreate.v proofs/CodeDispatch.v proofs/CodeStage2.v proofs/CodeTransfer.v proofs/CodeAbsLedger.v proofs/CodeMemCall.v proofs/CodeFiles.v proofs/CodeTransferRefine.v proofs/CodeShadow.v proofs/CodeMemState.v proofs/CodeMapped.v proofs/CodePool.v proofs/CodeFree.v proofs/CodeRelease.v proofs/CodeVMDestroy.v proofs/CodeEngineOk.v proofs/CodeTrace.v proofs/CodeReclaim.v proofs/CodeMemShare.v proofs/CodeDonate.v proofs/CodeBudget.v proofs/CodeRunWith.v proofs/CodeRunStop.v proofs/CodeLedgerRefine.v proofs/Lemmas.v proofs/CodeAbs.v proofs/CodeUpdate.v proofs/CodeVMCreateRefine.v proofs/CodeVMCreateInv.v proofs/CodeUpdateFrame.v proofs/CodeUpdateL2.v proofs/CodeUpdateRoot.v proofs/CodeUpdateRange.v proofs/CodeUpdateRootRange.v proofs/CodeRunNeed.v proofs/CodeMemNoFailure.v proofs/CodeUnshare.v proofs/CodeOwns.v proofs/CodeMemInvCreate.v proofs/CodeMemInvDestroy.v proofs/CodeEngineInv.v proofs/CodeWalkUpdate.v proofs/CodeWalkRange.v proofs/CodeWalkCalls.v proofs/Invariants.v proofs/Scrub.v proofs/Protected.v proofs/CodeModelThms.v proofs/CodeWalkHeld.v proofs/CodeUnshareInv.v proofs/CodeS2Refine.v proofs/CodeUnshareRefine.v proofs/CodeGuestErrors.v proofs/CodeRuns.v proofs/CodeGuestNoFailure.v proofs/CodeGuestRefine.v proofs/CodeDestroyRefine.v proofs/CodeVCPURefine.v proofs/CodeLogRead.v proofs/CodeLogRefine.v proofs/CodeMarks.v proofs/CodeShadowRefine.v proofs/CodeRefineInv.v"
CODE_THEOREMS="
CodeAbi.abi_status_codes
CodeAbi.abi_status_injective
CodeAbi.status_reg_roundtrip
CodeAbi.status_reg_codes
CodeLedger.pageRange_spec
CodeLedger.pageAt_ok
CodeLedger.MemInfo_no_failure
CodePlace.pindex_good
CodeVCPU.liveVM_spec
CodeVCPU.vcpuOf_spec
CodeVCPU.VCPUIRQ_no_failure
CodeTrack.pfield_tracks
CodeTrack.pindex_tracks
CodeVCPUInit.VCPUInit_no_failure
CodeVCPUInit.VCPUIRQ_inv
CodeLoop.loop_spec
CodeLens.pindex_lens
CodeVMCreate.allocRoot_ok
CodeVMCreate.VMCreate_no_failure
CodeVMCreate.VCPUInit_create_ok
CodeVMCreate.VCPUIRQ_create_ok
CodeDispatch.host_call_uid
CodeDispatch.host_version
CodeStage2.translate_ok
CodeStage2.need_ok
CodeStage2.mapNeed_ok
CodeStage2.unmapNeed_ok
CodeTransfer.checkTransfer_spec
CodeTransfer.checkTransfer_no_failure
CodeAbsLedger.MemInfo_refines
CodeAbsLedger.setOwner_pages
CodeAbsLedger.setOwner_abs
CodeAbsLedger.setShared_pages
CodeAbsLedger.setShared_abs
CodeMemCall.pa_ok_iff
CodeMemCall.reclaim_check_abs
CodeMemCall.MemReclaim_checks_refine
CodeFiles.file_check_abs
CodeFiles.FileRead_scan
CodeFiles.FileInfo_refines
CodeFiles.FileRead_refines
CodeTransferRefine.ipa_ok_iff
CodeTransferRefine.perms_ok_iff
CodeTransferRefine.ipa_range_free_pages
CodeTransferRefine.liveVM_at
CodeTransferRefine.checkTransfer_refine
CodeTransferRefine.MemDonate_checks_refine
CodeTransferRefine.MemShare_checks_refine
CodeShadow.inRanges_ok
CodeShadow.slot_scan_spec
CodeShadow.MMIOShadow_no_failure
CodeShadow.MMIOLogRead_no_failure
CodeShadow.append_tracks
CodeShadow.shadowMMIO_no_failure
CodeShadow.VCPUInit_shadow_inv
CodeShadow.VCPUIRQ_shadow_inv
CodeMemState.memStateAt_ok
CodeMemState.GuestMemState_no_failure
CodeMemState.memStateAt_shared
CodeMapped.checked_mapped
CodeMapped.checkMapped_no_failure
CodeMapped.nextRun_no_failure
CodePool.isFree_spec
CodePool.release_twice
CodePool.release_ok
CodePool.alloc_ok
CodePool.mustAlloc_ok
CodeFree.reach_nonneg
CodeFree.freeTables_ok
CodeFree.freeStage2_no_failure
CodeRelease.releasePages_unshared
CodeVMDestroy.liveVM_lens
CodeVMDestroy.VMDestroy_unshared_cases
CodeVMDestroy.VMDestroy_unshared_no_failure
CodeVMDestroy.VMDestroy_unshared_inv
CodeEngineOk.put_vm_stable
CodeEngineOk.store_stable_and
CodeEngineOk.mem_ok_stable
CodeEngineOk.MMIOShadow_keeps
CodeEngineOk.MMIOLogRead_keeps
CodeEngineOk.VCPUInit_keeps
CodeEngineOk.VCPUIRQ_keeps
CodeEngineOk.shadowMMIO_keeps
CodeEngineOk.GuestMemState_engine_ok
CodeEngineOk.VMDestroy_engine_ok
CodeReclaim.MemReclaim_zeroes
CodeDonate.MemDonate_unmaps_host
CodeDonate.MemDonate_reaches_unmap
CodeBudget.guestPagesOK_bound
CodeBudget.spend_stops
CodeRunStop.Engine_run_is_with_false
CodeRunStop.put_get_pfield
CodeRunStop.put_get_pindex
CodeRunStop.run_iter_stop_dead
CodeRunStop.Engine_run_stop_dead
CodeLedgerRefine.update_pool
CodeLedgerRefine.mapRange_pool
CodeLedgerRefine.unmapRange_pool
CodeLedgerRefine.need_same
CodeLedgerRefine.mapNeed_same
CodeLedgerRefine.unmapNeed_same
CodeLedgerRefine.call_iface_same
CodeLedgerRefine.MemDonate_ledger_refine
CodeLedgerRefine.MemShare_ledger_refine
CodeLedgerRefine.MemReclaim_ledger_refine
CodeAbs.obliv_translate
CodeAbs.translate_ro
CodeAbs.walk_translate
CodeAbs.vms_rel_abs
CodeAbs.abs_s2_hit
CodeAbs.ipa_free_walk
CodeAbs.s2_rel_abs
CodeAbs.MemDonate_checks_abs
CodeAbs.MemShare_checks_abs
CodeAbs.MemDonate_ledger_abs
CodeAbs.MemShare_ledger_abs
CodeUpdate.slot_lens
CodeUpdate.entryIndex_val
CodeUpdate.clearEntry_leaf_ok
CodeUpdate.replaceLeaf_leaf_ok
CodeUpdate.update_last_ok
CodeUpdate.tableEmpty_ok
CodeUpdate.dropTable_ok
CodeUpdate.splitBlock_ok
CodeUpdate.mustAlloc_spec
CodePool.release_count
CodeUpdate.take_count
CodePool.count_some_free
CodeUpdate.clearEntry_table_last
CodeUpdate.descend_table_last
CodeUpdate.descend_new_last
CodeUpdate.descend_split_last
CodeUpdate.replaceLeaf_table_last
CodeUpdate.update_l2_entry_no_failure
CodeVMCreateRefine.taken_refine
CodeVMCreateRefine.allocRoot_spec
CodeVMCreateRefine.newStage2_spec
CodeVMCreateRefine.slot_search_spec
CodeVMCreateRefine.VMCreate_spec
CodeVMCreateRefine.translate_pw
CodeVMCreateRefine.pw_frame
CodeVMCreateRefine.tree_ok_frame
CodeVMCreateRefine.walk_frame
CodeVMCreateRefine.walk_zero_root
CodeVMCreateRefine.taken_agree
CodeVMCreateRefine.walk_after
CodeVMCreateRefine.abs_new_vm
CodeVMCreateRefine.VMCreate_refines
CodeVMCreateInv.VMCreate_cases
CodeVMCreateInv.new_owns
CodeVMCreateInv.VMCreate_tables_ok
CodeVMCreateInv.VMCreate_owns
CodeVMCreateInv.VMCreate_disjoint
CodeVMCreateInv.VMCreate_free_slots_clear
CodeVMCreateInv.VMCreate_vms_sane
CodeVMCreateInv.VMCreate_shape
CodeVMCreateInv.VMCreate_keeps
CodeUpdateFrame.update_last_frame
CodeUpdateFrame.descend_new_frame
CodeUpdateFrame.descend_table_frame
CodeUpdateFrame.replaceLeaf_table_frame
CodeUpdateFrame.descend_split_frame
CodeUpdateL2.release_bits
CodeUpdate.take_spec_w
CodeUpdateL2.mustAlloc_word
CodeUpdateL2.mustAlloc_bits
CodeUpdateL2.update_l2_loop
CodeUpdateL2.dropTable_bits
CodeUpdateL2.clearEntry_table_bits
CodeUpdateL2.replaceLeaf_table_bits
CodeUpdateL2.descend_table_bits
CodeUpdateL2.descend_new_bits
CodeUpdateL2.descend_split_bits
CodeUpdateL2.l2_inv_step
CodeUpdateL2.tdesc_spec
CodeUpdateL2.descend_new_inv
CodeUpdateL2.descend_table_inv
CodeUpdateL2.l2_inv_tables
CodeUpdateL2.leaf2_not_table
CodeUpdateL2.l2_inv_put_leaf
CodeUpdateL2.replaceLeaf_leaf_inv
CodeUpdateL2.replaceLeaf_table_inv
CodeUpdateL2.l2_inv_drop
CodeUpdateL2.descend_split_inv
CodeUpdateL2.l2_step_inv
CodeUpdateL2.l2_step_own
CodeUpdateL2.need_l2_fuel
CodeUpdateL2.update_l2_keeps
CodeUpdateL2.update_l2_no_failure
CodeUpdateL2.update_l2_frame
CodeUpdateRoot.need_l3
CodeUpdateRoot.needBelow_l2
CodeUpdateRoot.need_l2_get
CodeUpdateRoot.need_l2_spec
CodeUpdateRoot.need_l2_virt
CodeUpdateRoot.needBelow_l1
CodeUpdateRoot.need_root_spec
CodeUpdateRoot.mapNeed_spec
CodeUpdateRoot.unmapNeed_spec
CodeUpdateRoot.need_l2_split
CodeUpdateRoot.need_l2_new
CodeUpdateRoot.descend_table_root
CodeUpdateRoot.need_l2_clear
CodeUpdateRoot.clearEntry_table_open
CodeUpdateRoot.clearEntry_table_root
CodeUpdateRoot.replaceLeaf_table_root
CodeUpdateRoot.l2_inv_new
CodeUpdateRoot.descend_new_open
CodeUpdateRoot.descend_new_root
CodeUpdateRoot.descend_split_open
CodeUpdateRoot.descend_split_root
CodeUpdateRoot.update_root_entry_no_failure
CodeUpdateRoot.update_l2_count
CodeUpdateRoot.update_l2_reserved
CodeUpdateRange.l1_inv_l2
CodeUpdateRange.l1_inv_slot_used
CodeUpdateRange.l1_inv_tree
CodeUpdateRange.need_root_l1
CodeUpdateRange.update_root_entry_l1
CodeUpdateRange.need_root_one
CodeUpdateRange.update_root_one_no_failure
CodeOwns.host_update_keeps_owned
CodeOwns.owns_l2_inv
CodeOwns.owns_l1_inv
CodeOwns.owns_root_inv
CodeOwns.disjoint_host_apart
CodeOwns.MemShare_no_failure_owned
CodeOwns.MemDonate_no_failure_owned
CodeOwns.root_inv_owns
CodeOwns.tree_grows
CodeOwns.tree_apart_kept
CodeOwns.one_tree_keeps_owned
CodeOwns.MemShare_keeps_owned
CodeOwns.MemDonate_keeps_owned
CodeOwns.MemReclaim_no_failure_owned
CodeOwns.MemReclaim_keeps_owned
CodeOwns.mem_inv_after
CodeOwns.MemShare_keeps_mem_inv
CodeOwns.MemDonate_keeps_mem_inv
CodeOwns.MemReclaim_keeps_mem_inv
CodeMemInvCreate.VMCreate_pool_inv
CodeMemInvCreate.VMCreate_dead_no_root
CodeMemInvCreate.VMCreate_s2_owned
CodeMemInvCreate.VMCreate_keeps_mem_inv_ok
CodeMemInvCreate.VMCreate_keeps_mem_inv
CodeMemInvCreate.VMCreate_keeps_both
CodeMemInvDestroy.destroyed_owned
CodeMemInvDestroy.destroyed_dead_no_root
CodeMemInvDestroy.VMDestroy_mem_cases
CodeMemInvDestroy.VMDestroy_keeps_mem_inv
CodeEngineInv.host_frame_walks
CodeEngineInv.put_vm_slots
CodeEngineInv.mem_inv_put_vm
CodeEngineInv.mem_inv_stable
CodeEngineInv.shadow_inv_same_vms
CodeEngineInv.MemShare_engine_inv
CodeEngineInv.MemDonate_engine_inv
CodeEngineInv.MemReclaim_engine_inv
CodeEngineInv.VMDestroy_engine_inv
CodeEngineInv.shadow_ok_nth
CodeEngineInv.VMCreate_engine_inv
CodeEngineInv.create_inv_rest
CodeEngineInv.rest_of_create_inv
CodeEngineInv.create_rest_put_vm
CodeEngineInv.create_rest_stable
CodeEngineInv.destroyed_create_rest
CodeEngineInv.VMDestroy_create_inv
CodeEngineInv.agree_kept
CodeEngineInv.MemReclaim_walks
CodeEngineInv.MemReclaim_create_inv
CodeVMCreateInv.new_vm_walk
CodeWalkHeld.walk_held_put_vm
CodeWalkHeld.held_rest_stable
CodeWalkHeld.VCPUInit_walk_held
CodeWalkHeld.VMCreate_walk_held
CodeWalkHeld.release_held
CodeWalkHeld.nth_map_release
CodeWalkHeld.VMDestroy_walk_held
CodeWalkHeld.MemReclaim_walk_held
CodeWalkHeld.walk_held_lend
CodeWalkHeld.MemShare_walk_held
CodeWalkHeld.MemDonate_walk_held
CodeWalkHeld.s2_sane_lend
CodeWalkHeld.create_inv_one_vm
CodeWalkHeld.create_inv_lend
CodeWalkHeld.MemShare_keeps_all
CodeWalkHeld.MemDonate_keeps_all
CodeUnshareInv.MemUnshare_keeps_owned
CodeUnshareInv.MemUnshare_keeps_mem_inv
CodeUnshareInv.MemUnshare_engine_inv
CodeUnshareInv.MemUnshare_walks
CodeUnshareInv.MemUnshare_walks_below
CodeUnshareInv.MemUnshare_walk_inv
CodeUnshareInv.s2_sane_shrink
CodeUnshareInv.MemUnshare_create_inv
CodeUnshareInv.index_pfn
CodeUnshareInv.unshare_abs_pages
CodeUnshareInv.unshared_hit
CodeUnshareInv.holds_for_unique
CodeUnshareInv.MemUnshare_walk_held
CodeS2Refine.free_walk_none
CodeS2Refine.perms_bits
CodeS2Refine.lend_checks_vm
CodeS2Refine.vm_s2_lend
CodeS2Refine.vm_s2_call
CodeS2Refine.MemShare_vm_s2
CodeS2Refine.MemDonate_vm_s2
CodeS2Refine.abs_s2_same
CodeS2Refine.hs2_range
CodeS2Refine.MemDonate_others_s2
CodeS2Refine.MemShare_others_s2
CodeS2Refine.vm_eq_fields
CodeS2Refine.MemShare_refines
CodeS2Refine.MemShare_keeps_Inv
CodeS2Refine.slot_vm
CodeS2Refine.s2_of_slot
CodeS2Refine.vms_lend_eq
CodeS2Refine.MemDonate_refines
CodeS2Refine.MemDonate_keeps_Inv
CodeS2Refine.abs_slot_same_at
CodeModelThms.step_keeps_Inv
CodeModelThms.step_ok_keeps_Inv
CodeS2Refine.abs_slot_same
CodeAbsLedger.wrapu_nonneg
CodeDestroyRefine.to_nat_neq
CodeDestroyRefine.release_abs
CodeDestroyRefine.destroy_pages_abs
CodeDestroyRefine.owned_not_host
CodeDestroyRefine.destroy_checks
CodeDestroyRefine.VMDestroy_refines
CodeS2Refine.MemReclaim_refines
CodeS2Refine.MemReclaim_keeps_Inv
CodeUnshareRefine.ipa_in_range
CodeUnshareRefine.vm_s2_unmap
CodeUnshareRefine.mapped_in_unshared
CodeUnshareRefine.unshare_vm_ipa_ok
CodeUnshareRefine.MemUnshare_checks_pass
CodeUnshareRefine.MemUnshare_refines
CodeUnshareRefine.MemUnshare_keeps_Inv
CodeUnshareRefine.range_refused
CodeUnshareRefine.unshare_range_refused
CodeUnshareRefine.MemUnshare_errors_refine
CodeAbsLedger.owners_ok_nth
CodeLedgerRefine.owners_ok_pool
CodeRefineInv.refine_inv_step
CodeRefineInv.refine_inv_outcome
CodeRefineInv.MemShare_ledger_after
CodeRefineInv.MemDonate_ledger_after
CodeRefineInv.MemReclaim_ledger_after
CodeRefineInv.MemUnshare_ledger_after
CodeRefineInv.MemShare_refine_inv
CodeRefineInv.MemDonate_refine_inv
CodeRefineInv.MemReclaim_refine_inv
CodeRefineInv.MemUnshare_refine_inv
CodeRefineInv.VMCreate_refine_inv
CodeRefineInv.release_entry_ok
CodeRefineInv.VMDestroy_ledger_after
CodeRefineInv.VMDestroy_refine_inv
CodeRefineInv.unshared_of_guest
CodeRefineInv.guest_unshared_pages
CodeRefineInv.guest_unshared_range
CodeRefineInv.guest_unshared_same
CodeRefineInv.VMDestroy_guest_unshared
CodeRefineInv.mcall_seq_inv
CodeRefineInv.VCPUInit_refine_inv
CodeVCPURefine.vcpu_ok_abs
CodeVCPURefine.vcpu_ok_slot
CodeVCPURefine.entry_aligned
CodeVCPURefine.init_vcpu_abs
CodeVCPURefine.put_vcpu_pages
CodeVCPURefine.put_vm_ms_eq
CodeVCPURefine.put_vm_slot
CodeVCPURefine.VCPUInit_refines
CodeVCPURefine.vcpu_of_abs
CodeVCPURefine.put_vcpu_ms_eq
CodeVCPURefine.shl_bit
CodeVCPURefine.testbit_set
CodeVCPURefine.testbit_clear
CodeVCPURefine.line_after
CodeVCPURefine.line_vcpu_abs
CodeVCPURefine.VCPUIRQ_refines
CodeRefineInv.vcpu_store_refine_inv
CodeRefineInv.shadow_store_refine_inv
CodeRefineInv.slot_keeps_of
CodeRefineInv.VCPUIRQ_refine_inv
CodeVCPUInit.put_vcpu_same
CodeLogRead.pack_bytes_app1
CodeLogRead.pack_bytes_lt
CodeLogRead.log_batch_words
CodeLogRead.firstn_snoc
CodeLogRead.pack_word_snoc
CodeLogRead.nth_words
CodeLogRead.pack_words_snoc
CodeLogRead.lor_above
CodeLogRead.or_byte
CodeLogRead.pow256
CodeLogRead.Forall_firstn'
CodeLogRead.Forall_skipn'
CodeLogRead.skipn_S_tl
CodeLogRead.nth_skipn_hd
CodeLogRead.map_replace_nth
CodeLogRead.abs_log_length
CodeLogRead.abs_log_bytes
CodeLogRead.abs_log_take
CodeLogRead.words_step
CodeLogRead.batch_of
CodeLogRead.MMIOLogRead_result
CodeLogRefine.vmid_ok_abs
CodeLogRefine.put_shadow_pages
CodeLogRefine.abs_marks_regs
CodeLogRefine.put_shadow_ms_eq
CodeLogRefine.MMIOLogRead_refines
CodeRefineInv.slot_store_refine_inv
CodeRefineInv.MMIOLogRead_refine_inv
CodeMarks.ssorted_ext
CodeMarks.insert_mark_in
CodeMarks.insert_mark_sorted
CodeMarks.fold_insert
CodeMarks.abs_marks_fold
CodeMarks.abs_marks_sorted
CodeMarks.abs_marks_in
CodeMarks.filter_sorted
CodeMarks.shadow_marks_sorted
CodeMarks.shadow_marks_in
CodeMarks.MMIOShadow_result
CodeTrack.nodup_filter_pos
CodeMarks.in_active
CodeShadow.nth_set_mark
CodeShadow.settable_found
CodeShadow.regs_ok_set
CodeShadow.shadow_ok_set_mark
CodeMarks.marks_of_regs
CodeMarks.marks_after_set
CodeShadowRefine.insert_mark_length
CodeShadowRefine.abs_marks_length
CodeShadowRefine.active_all
CodeShadowRefine.filter_le
CodeShadowRefine.active_drops
CodeShadowRefine.abs_marks_at
CodeShadowRefine.MMIOShadow_refines
CodeShadowRefine.Range_Contains_one
CodeShadowRefine.inRanges_holds
CodeShadowRefine.existsb_map'
CodeShadowRefine.holds_in_range
CodeShadowRefine.windows_agree
CodeShadowRefine.MMIOShadow_refines_windows
CodeShadowRefine.MMIOShadow_keeps_Inv
CodeRefineInv.MMIOShadow_refine_inv
CodeGuestErrors.bind_inv
CodeGuestErrors.frame_nextRun
CodeGuestErrors.guest_range_refused
CodeGuestErrors.guest_range_passes
CodeGuestErrors.vm_unshared_passes
CodeGuestErrors.vm_shared_host_passes
CodeGuestErrors.GuestShare_errors_refine
CodeGuestErrors.GuestUnshare_errors_refine
CodeGuestErrors.GuestRelinquish_errors_refine
CodeRunNeed.run_need_bound
CodeRuns.walk_aligned
CodeRuns.nextRun_run
CodeRuns.run_at_det
CodeRuns.run_in_ram
CodeRuns.runs_loop
CodeGuestNoFailure.host_runs_loop
CodeGuestNoFailure.GuestRelinquish_no_failure
CodeGuestNoFailure.run_fits
CodeUnshareRefine.range_passes
CodeGuestRefine.unshared_page_run
CodeGuestRefine.passes_vm_unshared
CodeGuestRefine.passes_vm_shared_host
CodeGuestRefine.host_done_start
CodeGuestRefine.step_ledger_ok
CodeGuestRefine.GuestShare_effect
CodeGuestRefine.GuestUnshare_effect
CodeGuestRefine.effect_no_failure
CodeGuestRefine.GuestShare_no_failure
CodeGuestRefine.GuestUnshare_no_failure
CodeGuestRefine.host_step_walks
CodeGuestRefine.host_guest_abs
CodeGuestRefine.refines_keeps_Inv
CodeGuestRefine.host_refines
CodeGuestRefine.GuestShare_refines
CodeGuestRefine.GuestUnshare_refines
CodeGuestRefine.GuestShare_keeps_Inv
CodeGuestRefine.GuestUnshare_keeps_Inv
CodeGuestRefine.host_step_keeps_mem_inv
CodeGuestRefine.host_step_keeps_walk_inv
CodeGuestRefine.effect_keeps_walk_inv
CodeGuestRefine.GuestShare_keeps_walk_inv
CodeGuestRefine.GuestUnshare_keeps_walk_inv
CodeRuns.run_ledger_step
CodeGuestRefine.run_abs_pages
CodeGuestRefine.GuestRelinquish_refines
CodeGuestRefine.GuestRelinquish_keeps_Inv
CodeGuestRefine.vm_step_keeps_walk_inv
CodeGuestRefine.GuestRelinquish_keeps_walk_inv
CodeRefineInv.mcalls_Inv
CodeRefineInv.mcalls_protected_owns
CodeMemShare.MemShare_reaches_mapRange
CodeUpdateRootRange.sub_used
CodeUpdateRootRange.l2_inv_transfer
CodeUpdateRootRange.root_inv_keep
CodeUpdateRootRange.step_post_trans
CodeUpdateRootRange.root_tail
CodeUpdateRootRange.hook_post
CodeUpdateRootRange.descend_table_post
CodeUpdateRootRange.descend_new_post
CodeUpdateRootRange.descend_split_post
CodeUpdateRootRange.clearEntry_table_post
CodeUpdateRootRange.replaceLeaf_table_post
CodeUpdateRootRange.root_inv_of_post
CodeUpdateRootRange.update_root_loop
CodeUpdateRootRange.update_root_step
CodeUpdateRootRange.update_root_no_failure
CodeUpdateRootRange.need_root_u
CodeUpdateRootRange.mapRange_no_failure
CodeUpdateRootRange.unmapRange_no_failure
CodeRunNeed.runNeed_spec
CodeRunNeed.need_root_touched
CodeRunNeed.mapNeed_le_run
CodeRunNeed.unmapNeed_le_run
CodeMemNoFailure.MemShare_no_failure
CodeMemNoFailure.root_inv_frame
CodeMemNoFailure.need_root_kept
CodeMemNoFailure.MemDonate_no_failure
CodeMemNoFailure.MemReclaim_reaches_mapRange
CodeMemNoFailure.MemReclaim_no_failure
CodeUnshare.translate_pages
CodeUnshare.MemUnshare_reaches_unmap
CodeUnshare.MemUnshare_no_failure
CodeUnshare.mapped_walk
CodeWalkUpdate.new_ent_view
CodeWalkUpdate.split_leaf_view
CodeWalkUpdate.last_done_walk
CodeWalkUpdate.update_last_walk
CodeWalkUpdate.l2_step_walk
CodeWalkUpdate.walk2_frame
CodeWalkUpdate.update_l2_walk
CodeWalkUpdate.view_pw1
CodeWalkUpdate.descend_table_root_walk
CodeWalkUpdate.descend_new_root_walk
CodeWalkUpdate.split_leaf1_view
CodeWalkUpdate.split_leaf1_below
CodeWalkUpdate.descend_split_root_walk
CodeWalkUpdate.update_root_entry_walk
CodeWalkUpdate.update_root_entry_pw
CodeWalkUpdate.mapRange_pw
CodeWalkUpdate.unmapRange_pw
CodeWalkUpdate.walk_view
CodeWalkUpdate.mapRange_walk
CodeWalkUpdate.unmapRange_walk
CodeWalkRange.subs3_of_post
CodeWalkRange.walk_other
CodeWalkRange.update_one_step
CodeWalkRange.update_root_walk
CodeWalkRange.below_root_blocks
CodeWalkRange.walk_below_after
CodeWalkRange.mapRange_walk_range
CodeWalkRange.unmapRange_walk_range
CodeWalkCalls.walk_same_pool
CodeWalkCalls.MemReclaim_host_walk
CodeWalkCalls.walk_apart
CodeWalkCalls.one_vm_walks_apart
CodeWalkCalls.MemShare_walks
CodeWalkCalls.MemShare_walks_below
CodeWalkCalls.MemReclaim_walks_below
CodeWalkCalls.MemDonate_walks
CodeWalkCalls.MemDonate_walks_below
CodeWalkCalls.VMCreate_walk_cases
CodeWalkCalls.VMCreate_walks_below
CodeWalkCalls.VMDestroy_walk_cases
CodeWalkCalls.VMDestroy_walks_below
CodeWalkCalls.walks_below_stable
CodeWalkCalls.MemShare_walk_inv
CodeWalkCalls.MemDonate_walk_inv
CodeWalkCalls.MemReclaim_walk_inv
CodeWalkCalls.VMCreate_walk_inv
CodeWalkCalls.VMDestroy_walk_inv
CodeModelThms.Inv_ms_eq
CodeModelThms.VMCreate_Inv
CodeModelThms.VMCreate_keeps_Inv
CodeModelThms.VMCreates_Inv
CodeModelThms.VMCreate_integrity
CodeModelThms.MemDonate_error_keeps_Inv
CodeModelThms.MemShare_error_keeps_Inv
CodeModelThms.MemReclaim_error_keeps_Inv
CodeModelThms.MemInfo_keeps_Inv
CodeModelThms.FileInfo_keeps_Inv
CodeModelThms.FileRead_keeps_Inv
CodeModelThms.MemDonate_success_pages
CodeModelThms.MemShare_success_pages
CodeModelThms.MemReclaim_success_pages
CodeModelThms.VMCreates_protected_owns
"
if grep -nE '\b(Admitted|admit|Axiom|Parameter|Conjecture|Hypothesis|Variable)\b' $CODE_PROOFS \
	| grep -vE 'Variable cfg : config\.'; then
	echo "gocoq: Admitted, admit or an axiom in the proofs about the code" >&2
	exit 1
fi
# The translation and the proofs, in dependency order, two at a time.
sh proofs/coqmake.sh $(for f in $CODE_PROOFS; do echo "${f%.v}.vo"; done)
rm -rf build/code-assumptions
mkdir -p build/code-assumptions
# Print Assumptions of every theorem: the list in two halves, each file
# checked by its own coqc at the same time, so both cores share the work.
assumptions_half() {
	i=0
	{
		for t in $CODE_THEOREMS; do echo "From Bulkhead.Proofs Require ${t%%.*}."; done | sort -u
		for t in $CODE_THEOREMS; do
			if [ $((i % 2)) -eq "$1" ]; then echo "Redirect \"build/code-assumptions/$t\" Print Assumptions $t."; fi
			i=$((i + 1))
		done
	} > "build/CodeAssumptions$1.v"
}
assumptions_half 0
assumptions_half 1
$COQC build/CodeAssumptions0.v 2> build/coqc0.err & half0=$!
$COQC build/CodeAssumptions1.v 2> build/coqc1.err & half1=$!
status0=0; wait $half0 || status0=$?
status1=0; wait $half1 || status1=$?
for k in 0 1; do
	grep -v -e 'remapped to' -e 'previously bound' -e 'overriding-logical-loadpath' -e '^Bulkhead' "build/coqc$k.err" >&2 || true
done
if [ "$status0" -ne 0 ] || [ "$status1" -ne 0 ]; then echo "gocoq: Print Assumptions failed" >&2; exit 1; fi
for t in $CODE_THEOREMS; do
	if ! grep -q 'Closed under the global context' "build/code-assumptions/$t.out"; then
		echo "gocoq: $t depends on:"; cat "build/code-assumptions/$t.out"; exit 1
	fi
	echo "assumptions $t: closed under the global context"
done
echo "gocoq: ok: $(echo $CODE_THEOREMS | wc -w) theorems about the translated code, each closed, in $(($(date +%s) - start)) s"
