#!/usr/bin/env python3
# sparse-exe.py - the executable a core fuzz seed carries: the parts of an ELF file a core reader reads (scripts/fuzz-seeds.sh).
# Owns: usage sparse-exe.py EXE OUT: OUT is the trailer dumpfmt/fuzz/fuzz_core.c reads after a core (its magic, the
# file's size, then runs of OFFSET(u64) LEN(u32) BYTES): the ELF header, the program and section headers and every
# section but code (SHF_EXECINSTR), unwind tables, debug info and .comment, at their own offsets; the rest of the
# file reads as zeros. Offsets stay those of EXE, so the core's NT_FILE offsets and the symbols still hold.
import struct,sys
src,out=sys.argv[1:3]
d=open(src,'rb').read()
assert d[:4]==b'\x7fELF' and d[4]==2 and d[5]==1, 'a 64-bit little-endian ELF file'
phoff,shoff=struct.unpack_from('<QQ',d,32)
phentsize,phnum,shentsize,shnum,shstrndx=struct.unpack_from('<HHHHH',d,54)
shs=[struct.unpack_from('<IIQQQQIIQQ',d,shoff+i*shentsize) for i in range(shnum)]
stroff=shs[shstrndx][4]
def name(sh):
    s=d[stroff+sh[0]:]
    return s[:s.index(b'\0')].decode()
runs=[(0,64),(phoff,phnum*phentsize),(shoff,shnum*shentsize)]
SHT_NOBITS,SHF_EXECINSTR=8,4
for sh in shs:
    n=name(sh)
    if sh[1] in (0,SHT_NOBITS) or sh[2]&SHF_EXECINSTR or n.startswith(('.debug','.eh_frame')) or n=='.comment':
        continue
    runs.append((sh[4],sh[5]))
runs.sort()
merged=[]
for o,n in runs:
    if n==0: continue
    if merged and o<=merged[-1][0]+merged[-1][1]+64:
        a=merged[-1][0]; merged[-1]=(a,max(merged[-1][1],o+n-a))
    else: merged.append((o,n))
body=b'FZEXE\0\x1a\x01'+struct.pack('<Q',len(d))
for o,n in merged:
    body+=struct.pack('<QI',o,n)+d[o:o+n]
open(out,'wb').write(body)
print('%s: %d runs, %d of %d bytes'%(out,len(merged),sum(n for o,n in merged),len(d)),file=sys.stderr)
