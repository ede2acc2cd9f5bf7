// Diamond.cs - the `diamond` scenario: Top -> Left, Right; both -> Bottom -> payload; sizes measured at allocation.
// Owns: Heaps.Top, Heaps.Left, Heaps.Right, Heaps.Bottom, Heaps.DiamondRoot and the retained sizes they imply.
using System;
using System.Runtime.CompilerServices;

namespace Heaps
{
    internal sealed class Top { public Left Left; public Right Right; public long Stamp; }
    internal sealed class Left { public Bottom Bottom; public int Weight; }
    internal sealed class Right { public Bottom Bottom; public int Weight; }
    internal sealed class Bottom { public byte[] Payload; public long Id; }

    internal static class DiamondRoot
    {
        public static Top Top;
        // multi-dimensional arrays, apart from the diamond: a string[2,3] and an int[2,4] whose
        // lower bounds are 1 and 5
        public static string[,] Grid;
        public static Array Bounded;
    }

    internal static class Diamond
    {
        [MethodImpl(MethodImplOptions.NoInlining)]
        public static void Build()
        {
            long top, left, right, bottom, payload;
            var t = Truth.Measure(() => new Top { Stamp = 1 }, out top);
            var l = Truth.Measure(() => new Left { Weight = 2 }, out left);
            var r = Truth.Measure(() => new Right { Weight = 3 }, out right);
            var b = Truth.Measure(() => new Bottom { Id = 4 }, out bottom);
            var p = Truth.Measure(() => new byte[10_000], out payload);
            b.Payload = p;
            l.Bottom = b;
            r.Bottom = b;
            t.Left = l;
            t.Right = r;
            DiamondRoot.Top = t;
            var g = new string[2, 3];
            g[1, 2] = string.Concat("cell", "12");
            DiamondRoot.Grid = g;
            var bd = Array.CreateInstance(typeof(int), new[] { 2, 4 }, new[] { 1, 5 });
            bd.SetValue(77, 2, 8);
            DiamondRoot.Bounded = bd;

            Truth.Put("size.Heaps.Top", top);
            Truth.Put("size.Heaps.Left", left);
            Truth.Put("size.Heaps.Right", right);
            Truth.Put("size.Heaps.Bottom", bottom);
            Truth.Put("size.payload", payload);
            // Left and Right share Bottom: neither dominates it, Top does
            Truth.Put("retained.Heaps.Top", top + left + right + bottom + payload);
            Truth.Put("retained.Heaps.Left", left);
            Truth.Put("retained.Heaps.Right", right);
            Truth.Put("retained.Heaps.Bottom", bottom + payload);
            Truth.Put("objsize.Heaps.Left", left + bottom + payload);
            Truth.Put("objsize.count.Heaps.Left", 3);
            Truth.Put("idom.Heaps.Bottom", typeof(Top).FullName);
            Truth.Put("idom.Heaps.Left", typeof(Top).FullName);
            Truth.Put("root", typeof(DiamondRoot).FullName + ".Top");
            Truth.Put("grid.type", g.GetType().FullName);
            Truth.Put("grid.array", $"Rank {g.Rank}, Number of elements {g.Length}");
            Truth.Put("grid.cell", "[1][2] " + g[1, 2]);
            Truth.Put("bounded.type", bd.GetType().FullName);
            Truth.Put("bounded.array", $"Rank {bd.Rank}, Number of elements {bd.Length}");
            Truth.Put("bounded.bounds", $"{bd.GetLowerBound(0)}..{bd.GetUpperBound(0)}, {bd.GetLowerBound(1)}..{bd.GetUpperBound(1)}");
            Truth.Put("bounded.last", "[2][8] 77");
        }
    }
}
