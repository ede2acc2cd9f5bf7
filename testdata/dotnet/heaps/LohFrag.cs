// LohFrag.cs - the `lohfrag` scenario: 40 large arrays, every other one freed, one freed one pinned by a handle.
// Owns: Heaps.LohHolder and the truths about the large object heap it prints (from the GC's own accounting).
using System;
using System.Collections.Generic;
using System.Runtime;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Heaps
{
    internal static class LohHolder
    {
        public static byte[][] Kept;
        public static GCHandle Pin;
    }

    internal static class LohFrag
    {
        public const int Arrays = 40, Length = 200_000, Pinned = 21;

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static long Allocate()
        {
            var all = new byte[Arrays][];
            long size = 0;
            for (int i = 0; i < Arrays; i++)
                all[i] = Truth.Measure(() => new byte[Length], out size);
            LohHolder.Kept = new byte[Arrays / 2][];
            for (int i = 0; i < Arrays; i += 2)
                LohHolder.Kept[i / 2] = all[i];
            // an odd one, otherwise garbage, stays where it is: pinned by a handle
            LohHolder.Pin = GCHandle.Alloc(all[Pinned], GCHandleType.Pinned);
            return size;
        }

        public static void Build()
        {
            GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.Default;
            long size = Allocate();
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: false);
            GCMemoryInfo info = GC.GetGCMemoryInfo(GCKind.Any);
            GCGenerationInfo loh = info.GenerationInfo[3];

            Truth.Put("array.type", typeof(byte[]).FullName);
            Truth.Put("array.size", size);
            Truth.Put("loh.count.System.Byte[]", Arrays / 2 + 1);
            Truth.Put("loh.freed", Arrays / 2 - 1);
            Truth.Put("pinned.type", typeof(byte[]).FullName);
            Truth.Put("pinned.size", size);
            Truth.Put("pinned.handles.min", 1);
            // the GC's own figures for the large object heap after that collection
            Truth.Put("gc.loh.size_after", loh.SizeAfterBytes);
            Truth.Put("gc.loh.fragmentation_after", loh.FragmentationAfterBytes);
            Truth.Put("root", typeof(LohHolder).FullName + ".Kept");
        }
    }
}
