/* contract.c - the contract descriptor and the registry of live heaps, for out-of-process readers.
 * Owns: gcrt_contract_descriptor (layout in gcrt_contract.h) and the heap registry it points at. */
#include "gcrt_int.h"
#include "gcrt_contract.h"

#define MAX_HEAPS 16

/* Readers outside the process (core files, a stopped live process) find
 * heaps only through here, so the registry is process-wide state, like the
 * crash handler's. Slots are written under reg_mu; a reader sees a stopped
 * process, so it needs no lock. */
static gcrt_heap *heap_registry[MAX_HEAPS];
static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;

void contract_register(gcrt_heap *h)
{
    pthread_mutex_lock(&reg_mu);
    for (int i = 0; i < MAX_HEAPS; i++)
        if (!heap_registry[i]) {
            heap_registry[i] = h;
            break;
        }
    pthread_mutex_unlock(&reg_mu);
}

void contract_unregister(gcrt_heap *h)
{
    pthread_mutex_lock(&reg_mu);
    for (int i = 0; i < MAX_HEAPS; i++)
        if (heap_registry[i] == h)
            heap_registry[i] = NULL;
    pthread_mutex_unlock(&reg_mu);
}

#define O(type, field) ((uint32_t)offsetof(type, field))

GCRT_API const gcrt_contract gcrt_contract_descriptor __attribute__((used)) = {
    .magic = GCRT_CONTRACT_MAGIC,
    .version = GCRT_CONTRACT_VERSION,
    .size = sizeof(gcrt_contract),
    .heaps = (uint64_t)(uintptr_t)heap_registry,
    .max_heaps = MAX_HEAPS,
    .ptr_size = sizeof(void *),
    .mt_flag_mask = GCRT_MT_FLAG_MASK,
    .handle_chunk = CHUNK,
    .static_chunk = CHUNK,
    .ts_block = TS_BLOCK,
    .history_len = GCRT_GC_HISTORY,

    .heap_threads = O(struct gcrt_heap_s, threads),
    .heap_segs = O(struct gcrt_heap_s, segs),
    .heap_nsegs = O(struct gcrt_heap_s, nsegs),
    .heap_eph = O(struct gcrt_heap_s, eph),
    .heap_types = O(struct gcrt_heap_s, types),
    .heap_ntypes = O(struct gcrt_heap_s, ntypes),
    .heap_free_type = O(struct gcrt_heap_s, builtin[GCRT_T_FREE]),
    .heap_statics = O(struct gcrt_heap_s, statics),
    .heap_tdecls = O(struct gcrt_heap_s, tdecls),
    .heap_ntdecls = O(struct gcrt_heap_s, ntdecls),
    .heap_handles = O(struct gcrt_heap_s, handles),
    .heap_methods = O(struct gcrt_heap_s, methods),
    .heap_nmethods = O(struct gcrt_heap_s, nmethods),
    .heap_finq_v = O(struct gcrt_heap_s, finq.v),
    .heap_finq_n = O(struct gcrt_heap_s, finq.n),
    .heap_freach_v = O(struct gcrt_heap_s, freach.v),
    .heap_freach_n = O(struct gcrt_heap_s, freach.n),
    .heap_freach_head = O(struct gcrt_heap_s, freach_head),
    .heap_lohfree = O(struct gcrt_heap_s, lohfree),
    .heap_nlohfree = O(struct gcrt_heap_s, nlohfree),
    .heap_history = O(struct gcrt_heap_s, history),
    .heap_hist_n = O(struct gcrt_heap_s, hist_n),
    .heap_in_gc = O(struct gcrt_heap_s, in_gc),
    .heap_count = O(struct gcrt_heap_s, count),
    .heap_budget = O(struct gcrt_heap_s, budget),
    .heap_free_gen = O(struct gcrt_heap_s, free_gen),
    .heap_free_loh = O(struct gcrt_heap_s, free_loh),
    .heap_total_pause = O(struct gcrt_heap_s, total_pause_ns),
    .heap_max_pause = O(struct gcrt_heap_s, max_pause_ns),
    .heap_allocated = O(struct gcrt_heap_s, allocated_bytes),
    .heap_committed = O(struct gcrt_heap_s, committed_total),
    .heap_reserved = O(struct gcrt_heap_s, reserved_total),
    .heap_finalizers_run = O(struct gcrt_heap_s, finalizers_run),
    .heap_cfg_mode = O(struct gcrt_heap_s, cfg.mode),
    .heap_cfg_soh_segment = O(struct gcrt_heap_s, cfg.soh_segment_size),
    .heap_cfg_loh_segment = O(struct gcrt_heap_s, cfg.loh_segment_size),
    .heap_cfg_loh_threshold = O(struct gcrt_heap_s, cfg.loh_threshold),
    .heap_cfg_gen0_budget = O(struct gcrt_heap_s, cfg.gen0_budget),
    .heap_cfg_hard_limit = O(struct gcrt_heap_s, cfg.hard_limit),
    .heap_exe_name = O(struct gcrt_heap_s, exe_name),
    .heap_exe_path = O(struct gcrt_heap_s, exe_path),
    .heap_hostname = O(struct gcrt_heap_s, hostname),
    .heap_exe_name_len = sizeof(((struct gcrt_heap_s *)0)->exe_name),
    .heap_exe_path_len = sizeof(((struct gcrt_heap_s *)0)->exe_path),
    .heap_hostname_len = sizeof(((struct gcrt_heap_s *)0)->hostname),

    .seg_kind = O(seg, kind),
    .seg_mem = O(seg, mem),
    .seg_reserved = O(seg, reserved),
    .seg_alloc = O(seg, alloc),
    .seg_committed = O(seg, committed),
    .seg_ephemeral_b = O(seg, ephemeral),
    .seg_gen1_start = O(seg, gen1_start),
    .seg_gen0_start = O(seg, gen0_start),

    .thread_next = O(struct gcrt_thread_s, next),
    .thread_id = O(struct gcrt_thread_s, id),
    .thread_name = O(struct gcrt_thread_s, name),
    .thread_os_tid = O(struct gcrt_thread_s, os_tid),
    .thread_mode = O(struct gcrt_thread_s, mode),
    .thread_top = O(struct gcrt_thread_s, top),
    .thread_tsblocks = O(struct gcrt_thread_s, tsblocks),
    .thread_ntstatics = O(struct gcrt_thread_s, ntstatics),
    .thread_is_finalizer_b = O(struct gcrt_thread_s, is_finalizer),
    .thread_ac_ptr = O(struct gcrt_thread_s, ac_ptr),
    .thread_ac_limit = O(struct gcrt_thread_s, ac_limit),

    .frame_prev = O(gcrt_frame, prev),
    .frame_function = O(gcrt_frame, function),
    .frame_names = O(gcrt_frame, names),
    .frame_slots = O(gcrt_frame, slots),
    .frame_nslots = O(gcrt_frame, nslots),
    .frame_pinned = O(gcrt_frame, pinned),

    .type_id = O(struct gcrt_type_s, id),
    .type_name = O(struct gcrt_type_s, name),
    .type_base_size = O(struct gcrt_type_s, base_size),
    .type_comp_size = O(struct gcrt_type_s, comp_size),
    .type_flags = O(struct gcrt_type_s, flags),
    .type_elem_kind = O(struct gcrt_type_s, elem_kind),
    .type_elem = O(struct gcrt_type_s, elem),
    .type_fields = O(struct gcrt_type_s, fields),
    .type_nfields = O(struct gcrt_type_s, nfields),
    .field_size = sizeof(gcrt_field_desc),
    .field_name = O(gcrt_field_desc, name),
    .field_offset = O(gcrt_field_desc, offset),
    .field_kind = O(gcrt_field_desc, kind),
    .field_fsize = O(gcrt_field_desc, size),
    .field_type_name = O(gcrt_field_desc, type_name),

    .schunk_next = O(static_chunk, next),
    .schunk_n = O(static_chunk, n),
    .schunk_rec = O(static_chunk, rec),
    .srec_size = sizeof(static_rec),
    .srec_slot = O(static_rec, slot),
    .srec_owner = O(static_rec, owner),
    .srec_field = O(static_rec, field),
    .srec_type_name = O(static_rec, type_name),
    .tdecl_size = sizeof(tstatic_decl),
    .tdecl_owner = O(tstatic_decl, owner),
    .tdecl_field = O(tstatic_decl, field),
    .tdecl_type_name = O(tstatic_decl, type_name),
    .hchunk_next = O(handle_chunk, next),
    .hchunk_h = O(handle_chunk, h),
    .handle_size = sizeof(struct gcrt_handle_s),
    .handle_target = O(struct gcrt_handle_s, target),
    .handle_kind_b = O(struct gcrt_handle_s, kind),
    .handle_in_use_b = O(struct gcrt_handle_s, in_use),
    .method_name = O(struct gcrt_method_s, name),
    .method_id = O(struct gcrt_method_s, id),
    .lohblock_size = sizeof(lohblock),
    .lohblock_addr = O(lohblock, addr),
    .lohblock_len = O(lohblock, size),
    .gcinfo_size = sizeof(gcrt_gc_info),
    .gcinfo_index = O(gcrt_gc_info, index),
    .gcinfo_gen = O(gcrt_gc_info, gen),
    .gcinfo_reason = O(gcrt_gc_info, reason),
    .gcinfo_pause = O(gcrt_gc_info, pause_ns),
    .gcinfo_promoted = O(gcrt_gc_info, promoted_bytes),
    .gcinfo_before = O(gcrt_gc_info, size_before),
    .gcinfo_after = O(gcrt_gc_info, size_after),
    .runtime_version = "libgcrt " GCRT_VERSION_STRING,
};

_Static_assert(offsetof(gcrt_contract, runtime_version) == GCRT_CONTRACT_V1_BASE_SIZE,
               "appended fields start where the first version-1 descriptor ended");
_Static_assert(sizeof(gcrt_contract) == GCRT_CONTRACT_V1_BASE_SIZE + 32, "one appended field");

/* Widths the descriptor promises, checked at compile time. */
_Static_assert(sizeof(((struct gcrt_heap_s *)0)->in_gc) == 4, "in_gc is 4 bytes");
_Static_assert(sizeof(gcrt_mode) == 4 && sizeof(gcrt_seg_kind) == 4 && sizeof(gcrt_kind) == 4, "enums are 4 bytes");
_Static_assert(sizeof(((seg *)0)->ephemeral) == 1, "ephemeral is a 1-byte bool");
_Static_assert(sizeof(pid_t) == 4, "os tid is 4 bytes");
_Static_assert(sizeof(((struct gcrt_thread_s *)0)->mode) == 4, "mode is 4 bytes");
_Static_assert(sizeof(((struct gcrt_thread_s *)0)->is_finalizer) == 1, "is_finalizer is 1 byte");
_Static_assert(sizeof(size_t) == 8 && sizeof(void *) == 8, "64-bit only");
_Static_assert(sizeof(((struct gcrt_handle_s *)0)->kind) == 1 && sizeof(((struct gcrt_handle_s *)0)->in_use) == 1,
               "handle kind and in_use are bytes");
