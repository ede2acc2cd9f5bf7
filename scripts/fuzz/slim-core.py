#!/usr/bin/env python3
# slim-core.py - cut an ELF core down to the pages a reader read (a fuzz seed; scripts/fuzz-seeds.sh).
# Owns: usage slim-core.py CORE PREADS OUT [--notes NOTES_OUT]: PREADS holds the lines "PREAD FD OFFSET LEN"
# of scripts/fuzz/pread-log.c (fd 3: the core); OUT keeps the ELF header, the PT_NOTE segment and, of each
# PT_LOAD, only the runs of pages read (as PT_LOADs of their own); NOTES_OUT keeps the notes alone.
import struct,sys
src,reads,out=sys.argv[1:4]
notes_out=sys.argv[5] if len(sys.argv)>5 and sys.argv[4]=='--notes' else None
d=open(src,'rb').read()
eh=d[:64]
phoff,=struct.unpack_from('<Q',d,32); phentsize,phnum=struct.unpack_from('<HH',d,54)
phs=[struct.unpack_from('<IIQQQQQQ',d,phoff+i*phentsize) for i in range(phnum)]
rs=[]
for l in open(reads):
    p=l.split()
    if p[0]=='PREAD' and p[1]=='3': rs.append((int(p[2]),int(p[3])))
PG=4096
pages=set()
for o,n in rs:
    for pg in range(o//PG, (o+n+PG-1)//PG): pages.add(pg)
newph=[];blobs=[]
for (typ,flags,off,va,pa,fsz,msz,al) in phs:
    if typ==4: newph.append([typ,flags,None,va,pa,fsz,msz,al,d[off:off+fsz]]); continue
    if typ!=1: continue
    # pages relative to the segment's file offset
    i=0
    while i<fsz:
        a=off+i
        if any(pg in pages for pg in range(a//PG,(a+min(PG,fsz-i)+PG-1)//PG)):
            j=i
            while j<fsz and any(pg in pages for pg in range((off+j)//PG,(off+j+PG-1)//PG+1)):
                j+=PG
            j=min(j,fsz)
            newph.append([1,flags,None,va+i,0,j-i,j-i,al,d[off+i:off+j]])
            i=j
        else: i+=PG
n=len(newph)
pos=64+n*56
body=b''
for p in newph:
    pad=(-pos)%8 if p[0]==4 else (-pos)%16
    body+=b'\0'*pad; pos+=pad
    p[2]=pos; body+=p[8]; pos+=len(p[8])
eh=bytearray(eh); struct.pack_into('<Q',eh,32,64); struct.pack_into('<HH',eh,54,56,n)
phb=b''.join(struct.pack('<IIQQQQQQ',p[0],p[1],p[2],p[3],p[4],p[5],p[6],p[7]) for p in newph)
open(out,'wb').write(bytes(eh)+phb+body)
if notes_out:
    p=[q for q in newph if q[0]==4][0]
    e2=bytearray(eh); struct.pack_into('<H',e2,56,1)
    open(notes_out,'wb').write(bytes(e2)+struct.pack('<IIQQQQQQ',4,p[1],120,0,0,len(p[8]),0,p[7])+p[8])
