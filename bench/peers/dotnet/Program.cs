// Program.cs - the bench workloads on .NET, peers of bench/{binary_trees,gcbench,steady,alloc_drop}.c.
// Owns: the C# side of scripts/bench-peers.sh; prints TIME_MS and one "PAUSE gen ms" line per collection.
using System;
using System.Diagnostics;
using System.Globalization;
using System.Threading;

static class Pauses
{
    // GC.GetGCMemoryInfo reports the last collection; polled every few KiB of
    // allocation, as the libgcrt programs drain their runtime's history.
    static readonly object Lock = new object();
    static long nextIndex = -1;
    static int lastCount;
    static readonly System.Collections.Generic.List<(int gen, double ms)> List = new();
    public static long Lost;
    static readonly int[] startCounts = new int[3];

    public static void Start()
    {
        for (int g = 0; g < 3; g++)
            startCounts[g] = GC.CollectionCount(g);
        lastCount = GC.CollectionCount(0);
        nextIndex = GC.GetGCMemoryInfo(GCKind.Any).Index + 1;
        List.Clear();
        Lost = 0;
    }

    public static void Poll()
    {
        int c = GC.CollectionCount(0);
        if (c == lastCount)
            return;
        lock (Lock)
        {
            lastCount = c;
            GCMemoryInfo gi = GC.GetGCMemoryInfo(GCKind.Any);
            if (gi.Index < nextIndex)
                return;
            Lost += gi.Index - nextIndex;
            nextIndex = gi.Index + 1;
            double ms = 0;
            foreach (TimeSpan p in gi.PauseDurations)
                ms += p.TotalMilliseconds;
            List.Add((gi.Generation, ms));
        }
    }

    public static void Report(double ms)
    {
        Poll();
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Format(inv, "TIME_MS {0:F3}", ms));
        foreach (var (gen, p) in List)
            Console.WriteLine(string.Format(inv, "PAUSE {0} {1:F6}", gen, p));
        if (Lost > 0)
            Console.WriteLine("LOST " + Lost);
        // The gen0:gen1:gen2 shape since Start, as bench/gcpause.h prints it
        // (gc-budget): per condemned generation, then cumulative
        // (GC.CollectionCount), then the ratio to gen2. No "steady" part:
        // the pause list may miss collections, the counts do not.
        int c0 = GC.CollectionCount(0) - startCounts[0], c1 = GC.CollectionCount(1) - startCounts[1];
        int c2 = GC.CollectionCount(2) - startCounts[2];
        Console.WriteLine(string.Format(inv, "SHAPE {0} {1} {2} cum {3}:{4}:{5} ratio {6:F1}:{7:F1}:1",
            c0 - c1, c1 - c2, c2, c0, c1, c2, c2 > 0 ? (double)c0 / c2 : 0.0, c2 > 0 ? (double)c1 / c2 : 0.0));
    }
}

sealed class Tree
{
    public Tree Left, Right;
    public Tree(Tree l, Tree r) { Left = l; Right = r; }
}

// I, J (and Small.B) are never written: they give the objects their size.
#pragma warning disable CS0649
sealed class Node
{
    public Node Left, Right;
    public int I, J;
}

sealed class Entry
{
    public byte[] Payload;
    public long Key, Stamp;
}

// 32 bytes: object header, method table, two longs.
sealed class Small
{
    public long A, B;
}

#pragma warning restore CS0649

static class Program
{
    static Tree BtMake(int depth)
    {
        if (depth <= 0)
            return new Tree(null, null);
        if (depth == 8)
            Pauses.Poll();
        return new Tree(BtMake(depth - 1), BtMake(depth - 1));
    }

    static long BtCheck(Tree n) => n.Left == null ? 1 : 1 + BtCheck(n.Left) + BtCheck(n.Right);

    static int BinaryTrees(int maxDepth)
    {
        var sw = Stopwatch.StartNew();
        int stretch = maxDepth + 1;
        Console.WriteLine($"stretch tree of depth {stretch}\t check: {BtCheck(BtMake(stretch))}");
        Tree longLived = BtMake(maxDepth);
        for (int d = 4; d <= maxDepth; d += 2)
        {
            long iters = 1L << (maxDepth - d + 4), check = 0;
            for (long i = 0; i < iters; i++)
            {
                check += BtCheck(BtMake(d));
                Pauses.Poll();
            }
            Console.WriteLine($"{iters}\t trees of depth {d}\t check: {check}");
        }
        Console.WriteLine($"long lived tree of depth {maxDepth}\t check: {BtCheck(longLived)}");
        Pauses.Report(sw.Elapsed.TotalMilliseconds);
        return 0;
    }

    static long TreeNodes(int d) => (1L << (d + 1)) - 1;

    static void Populate(int depth, Node n)
    {
        for (; depth > 0; depth--)
        {
            if (depth == 8)
                Pauses.Poll();
            n.Left = new Node();
            n.Right = new Node();
            Populate(depth - 1, n.Left);
            n = n.Right;
        }
    }

    static Node MakeTree(int depth)
    {
        var n = new Node();
        if (depth > 0)
        {
            if (depth == 8)
                Pauses.Poll();
            n.Left = MakeTree(depth - 1);
            n.Right = MakeTree(depth - 1);
        }
        return n;
    }

    static long Count(Node n)
    {
        long c = 0;
        while (n != null)
        {
            c += 1 + Count(n.Left);
            n = n.Right;
        }
        return c;
    }

    static int GcBench(int stretch, int longDepth)
    {
        const int arrayLen = 500000;
        var sw = Stopwatch.StartNew();
        Console.WriteLine($"stretch tree of depth {stretch}: {Count(MakeTree(stretch))} nodes");
        var longLived = new Node();
        Populate(longDepth, longLived);
        var array = new double[arrayLen];
        for (int k = 1; k < arrayLen / 2; k++)
            array[k] = 1.0 / k;
        for (int d = 4; d <= 16; d += 2)
        {
            long iters = 2 * TreeNodes(stretch) / TreeNodes(d);
            for (long i = 0; i < iters; i++)
            {
                Populate(d, new Node());
                Pauses.Poll(); // trees under depth 8 do not poll
            }
            for (long i = 0; i < iters; i++)
            {
                MakeTree(d);
                Pauses.Poll();
            }
        }
        bool bad = array[1000] != 1.0 / 1000.0 || Count(longLived) != TreeNodes(longDepth);
        Console.WriteLine($"long-lived tree of depth {longDepth}: {Count(longLived)} nodes{(bad ? " DAMAGED" : "")}");
        Pauses.Report(sw.Elapsed.TotalMilliseconds);
        return bad ? 1 : 0;
    }

    static Entry EntryNew(long key)
    {
        var e = new Entry { Payload = new byte[64], Key = key };
        e.Payload[0] = (byte)key;
        return e;
    }

    static Entry sinkEntry; // keeps the temporaries from being optimized away

    static int Steady(int n, long iters)
    {
        var table = new Entry[n];
        for (int i = 0; i < n; i++)
            table[i] = EntryNew(i);
        ulong seed = 88172645463325252UL;
        Pauses.Start();
        var sw = Stopwatch.StartNew();
        for (long it = 0; it < iters; it++)
        {
            for (int k = 0; k < 4; k++)
                sinkEntry = new Entry { Stamp = it };
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            table[(int)(seed % (ulong)n)] = EntryNew(it);
            if (it % 256 == 0)
                Pauses.Poll();
        }
        double ms = sw.Elapsed.TotalMilliseconds;
        long sum = 0;
        foreach (Entry e in table)
            sum += e.Key;
        Console.WriteLine($"steady: N {n}, {iters} iterations, key sum {sum}");
        Pauses.Report(ms);
        return 0;
    }

    static int AllocDrop(int nthreads, long count)
    {
        var sums = new long[nthreads];
        var ts = new Thread[nthreads];
        var sw = Stopwatch.StartNew();
        for (int t = 0; t < nthreads; t++)
        {
            int id = t;
            ts[t] = new Thread(() =>
            {
                var ring = new Small[16];
                for (long i = 0; i < count; i++)
                {
                    ring[i & 15] = new Small { A = i };
                    if ((i & 4095) == 0)
                        Pauses.Poll();
                }
                long s = 0;
                foreach (Small o in ring)
                    s += o == null ? 0 : o.A;
                sums[id] = s;
            });
            ts[t].Start();
        }
        long sum = 0;
        for (int t = 0; t < nthreads; t++)
        {
            ts[t].Join();
            sum += sums[t];
        }
        double ms = sw.Elapsed.TotalMilliseconds;
        Console.WriteLine(string.Format(CultureInfo.InvariantCulture,
            "alloc-drop: {0} thread(s) x {1} objects, {2:F2} ns/object, sum {3}", nthreads, count,
            ms * 1e6 / ((double)count * nthreads), sum));
        Pauses.Report(ms);
        return 0;
    }

    static long Arg(string[] args, int i)
    {
        if (i >= args.Length || !long.TryParse(args[i], NumberStyles.None, CultureInfo.InvariantCulture, out long v))
            return -1;
        return v >= 1 && v <= 4000000000L ? v : -1;
    }

    static int Main(string[] args)
    {
        string w = args.Length > 0 ? args[0] : "";
        long a = Arg(args, 1), b = Arg(args, 2);
        Pauses.Start();
        if (w == "binary-trees" && args.Length == 2 && a >= 4 && a <= 26)
            return BinaryTrees((int)a);
        if (w == "gcbench" && args.Length == 3 && a >= 4 && a <= 26 && b >= 4 && b <= 26)
            return GcBench((int)a, (int)b);
        if (w == "steady" && args.Length == 3 && a > 0 && a <= 100000000 && b > 0)
            return Steady((int)a, b);
        if (w == "alloc-drop" && args.Length == 3 && a >= 1 && a <= 64 && b > 0)
            return AllocDrop((int)a, b);
        Console.Error.WriteLine("usage: Workloads binary-trees DEPTH | gcbench STRETCH LONG_LIVED | steady N ITERATIONS | alloc-drop THREADS OBJECTS");
        return 2;
    }
}
