/* gcrt_contract.h - the contract descriptor: how an out-of-process reader finds and reads libgcrt's heap.
 * Owns: the layout of the exported symbol gcrt_contract_descriptor (docs/contract.md); part of the format, so it lives
 * in dumpfmt/ (its reader is dumpfmt/remote.c), and libgcrt fills it (runtime/contract.c). */
#ifndef GCRT_CONTRACT_H
#define GCRT_CONTRACT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A reader (heapdump on a core file or a live process) looks the symbol
 * gcrt_contract_descriptor up in the executable's or libgcrt.so's symbol
 * table, adds the load bias, reads `magic`, `version` and `size` first, and
 * refuses a version it does not know. Everything else it reads through the
 * offsets below: it never guesses a structure's layout.
 *
 * Widths (fixed for a descriptor version): addresses, sizes and counts are
 * 8 bytes; ids, kinds, flags and modes are 4 bytes; fields named *_b are
 * 1-byte booleans; strings are addresses of NUL-terminated UTF-8; arrays
 * hold 8-byte addresses unless said otherwise. */
#define GCRT_CONTRACT_MAGIC 0x314352544e4f4347ull /* "GCONTRC1" read as little-endian bytes */
#define GCRT_CONTRACT_VERSION 1u
#define GCRT_CONTRACT_SYMBOL "gcrt_contract_descriptor"

typedef struct gcrt_contract {
    uint64_t magic;
    uint32_t version;
    uint32_t size;              /* sizeof(gcrt_contract) of the writer */
    uint64_t heaps;             /* address of the registry: max_heaps heap addresses (0 = empty slot) */
    uint32_t max_heaps;
    uint32_t ptr_size;          /* 8 */
    uint64_t mt_flag_mask;      /* low bits of an object's first word that are GC flags */
    uint32_t handle_chunk;      /* handles per handle chunk */
    uint32_t static_chunk;      /* records per static chunk */
    uint32_t ts_block;          /* thread-static slots per block */
    uint32_t history_len;       /* entries in the GC history ring */

    /* struct gcrt_heap */
    uint32_t heap_threads;      /* address of the first thread (linked by thread_next) */
    uint32_t heap_segs, heap_nsegs, heap_eph;
    uint32_t heap_types, heap_ntypes, heap_free_type; /* free_type: address of the Free type */
    uint32_t heap_statics;      /* first static chunk (linked by schunk_next) */
    uint32_t heap_tdecls, heap_ntdecls;
    uint32_t heap_handles;      /* first handle chunk (linked by hchunk_next) */
    uint32_t heap_methods, heap_nmethods;
    uint32_t heap_finq_v, heap_finq_n, heap_freach_v, heap_freach_n, heap_freach_head;
    uint32_t heap_lohfree, heap_nlohfree;
    uint32_t heap_history, heap_hist_n;
    uint32_t heap_in_gc;        /* 4 bytes */
    uint32_t heap_count;        /* 3 x 8: collections per condemned generation */
    uint32_t heap_budget;       /* 3 x 8 */
    uint32_t heap_free_gen;     /* 3 x 8 */
    uint32_t heap_free_loh, heap_total_pause, heap_max_pause, heap_allocated, heap_committed, heap_reserved,
        heap_finalizers_run;
    uint32_t heap_cfg_mode;     /* 4 bytes: 0 workstation, 1 server */
    uint32_t heap_cfg_soh_segment, heap_cfg_loh_segment, heap_cfg_loh_threshold, heap_cfg_gen0_budget,
        heap_cfg_hard_limit;
    uint32_t heap_exe_name, heap_exe_path, heap_hostname; /* inline char arrays (not pointers) */
    uint32_t heap_exe_name_len, heap_exe_path_len, heap_hostname_len;

    /* struct seg */
    uint32_t seg_kind;          /* 4: 0 SOH, 1 LOH */
    uint32_t seg_mem, seg_reserved, seg_alloc, seg_committed;
    uint32_t seg_ephemeral_b, seg_gen1_start, seg_gen0_start;

    /* struct gcrt_thread */
    uint32_t thread_next, thread_id, thread_name, thread_os_tid /* 4 */, thread_mode /* 4: 0 coop, 1 native */;
    uint32_t thread_top, thread_tsblocks /* inline array of block addresses */, thread_ntstatics;
    uint32_t thread_is_finalizer_b, thread_ac_ptr, thread_ac_limit;

    /* gcrt_frame (public in gcrt.h) */
    uint32_t frame_prev, frame_function, frame_names, frame_slots, frame_nslots /* 4 */, frame_pinned /* 4 */;

    /* struct gcrt_type */
    uint32_t type_id /* 4 */, type_name, type_base_size, type_comp_size, type_flags /* 4 */,
        type_elem_kind /* 4 */, type_elem, type_fields, type_nfields;
    /* gcrt_field_desc (array element of type_fields) */
    uint32_t field_size, field_name, field_offset /* 4 */, field_kind /* 4 */, field_fsize /* 4 */,
        field_type_name;

    /* statics: chunk {next, n, records[static_chunk]} and record */
    uint32_t schunk_next, schunk_n, schunk_rec, srec_size, srec_slot, srec_owner, srec_field, srec_type_name;
    /* thread-static declaration (array element of heap_tdecls) */
    uint32_t tdecl_size, tdecl_owner, tdecl_field, tdecl_type_name;
    /* handles: chunk {next, handles[handle_chunk]} and handle */
    uint32_t hchunk_next, hchunk_h, handle_size, handle_target, handle_kind_b /* 1 */, handle_in_use_b;
    /* methods (array of method addresses) */
    uint32_t method_name, method_id /* 4 */;
    /* LOH free list (array of blocks) */
    uint32_t lohblock_size, lohblock_addr, lohblock_len;
    /* GC history (ring of history_len entries, newest at (hist_n - 1) % history_len) */
    uint32_t gcinfo_size, gcinfo_index, gcinfo_gen /* 4 */, gcinfo_reason /* 4 */, gcinfo_pause, gcinfo_promoted,
        gcinfo_before, gcinfo_after;

    /* ---- appended within version 1 (present when size >= 552) ---- */
    char runtime_version[32];   /* "libgcrt X.Y.Z", NUL-padded, inline */
} gcrt_contract;

/* The size of the first version-1 descriptor: readers accept any size from
 * here up and use appended fields only when size covers them. */
#define GCRT_CONTRACT_V1_BASE_SIZE 520u

#ifdef __cplusplus
}
#endif
#endif /* GCRT_CONTRACT_H */
