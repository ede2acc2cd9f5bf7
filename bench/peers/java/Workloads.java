// Workloads.java - the bench workloads on the JVM (OpenJDK 17), peers of bench/{binary_trees,gcbench,steady,alloc_drop}.c.
// Owns: the Java side of scripts/bench-peers.sh; prints TIME_MS, pauses come from -Xlog:gc on stdout.

public final class Workloads {
    static final class Tree {
        Tree left, right;
        Tree(Tree l, Tree r) { left = l; right = r; }
    }

    static Tree btMake(int depth) {
        return depth <= 0 ? new Tree(null, null) : new Tree(btMake(depth - 1), btMake(depth - 1));
    }

    static long btCheck(Tree n) {
        return n.left == null ? 1 : 1 + btCheck(n.left) + btCheck(n.right);
    }

    static void binaryTrees(int maxDepth) {
        long t0 = System.nanoTime();
        int stretch = maxDepth + 1;
        System.out.println("stretch tree of depth " + stretch + "\t check: " + btCheck(btMake(stretch)));
        Tree longLived = btMake(maxDepth);
        for (int d = 4; d <= maxDepth; d += 2) {
            long iters = 1L << (maxDepth - d + 4), check = 0;
            for (long i = 0; i < iters; i++)
                check += btCheck(btMake(d));
            System.out.println(iters + "\t trees of depth " + d + "\t check: " + check);
        }
        System.out.println("long lived tree of depth " + maxDepth + "\t check: " + btCheck(longLived));
        report(t0);
    }

    // GCBench: the shape of Boehm's, stretch and long-lived depths as arguments.
    static final class Node {
        Node left, right;
        int i, j;
    }

    static long treeNodes(int d) { return (1L << (d + 1)) - 1; }

    static void populate(int depth, Node n) {
        for (; depth > 0; depth--) {
            n.left = new Node();
            n.right = new Node();
            populate(depth - 1, n.left);
            n = n.right;
        }
    }

    static Node makeTree(int depth) {
        Node n = new Node();
        if (depth > 0) {
            n.left = makeTree(depth - 1);
            n.right = makeTree(depth - 1);
        }
        return n;
    }

    static long count(Node n) {
        long c = 0;
        while (n != null) {
            c += 1 + count(n.left);
            n = n.right;
        }
        return c;
    }

    static int gcbench(int stretch, int longDepth) {
        final int arrayLen = 500000;
        long t0 = System.nanoTime();
        System.out.println("stretch tree of depth " + stretch + ": " + count(makeTree(stretch)) + " nodes");
        Node longLived = new Node();
        populate(longDepth, longLived);
        double[] array = new double[arrayLen];
        for (int k = 1; k < arrayLen / 2; k++)
            array[k] = 1.0 / k;
        for (int d = 4; d <= 16; d += 2) {
            long iters = 2 * treeNodes(stretch) / treeNodes(d);
            for (long i = 0; i < iters; i++)
                populate(d, new Node());
            for (long i = 0; i < iters; i++)
                makeTree(d);
        }
        boolean bad = array[1000] != 1.0 / 1000.0 || count(longLived) != treeNodes(longDepth);
        System.out.println("long-lived tree of depth " + longDepth + ": " + count(longLived) + " nodes" + (bad ? " DAMAGED" : ""));
        report(t0);
        return bad ? 1 : 0;
    }

    // steady: a table of N live entries, one replaced per four temporaries.
    static final class Entry {
        byte[] payload;
        long key, stamp;
    }

    static Entry entryNew(long key) {
        Entry e = new Entry();
        e.payload = new byte[64];
        e.payload[0] = (byte) key;
        e.key = key;
        return e;
    }

    static Entry sinkEntry; // keeps the temporaries from being optimized away

    static void steady(int n, long iters) {
        Entry[] table = new Entry[n];
        for (int i = 0; i < n; i++)
            table[i] = entryNew(i);
        long seed = 88172645463325252L;
        long t0 = System.nanoTime();
        for (long it = 0; it < iters; it++) {
            for (int k = 0; k < 4; k++) {
                Entry t = new Entry();
                t.stamp = it;
                sinkEntry = t;
            }
            seed ^= seed << 13;
            seed ^= seed >>> 7;
            seed ^= seed << 17;
            int slot = (int) Long.remainderUnsigned(seed, n);
            table[slot] = entryNew(it);
        }
        long t1 = System.nanoTime();
        long sum = 0;
        for (Entry e : table)
            sum += e.key;
        System.out.println("steady: N " + n + ", " + iters + " iterations, key sum " + sum);
        System.out.printf("TIME_MS %.3f%n", (t1 - t0) / 1e6);
    }

    // alloc-drop: 32-byte objects (12-byte header, a reference, two longs), a 16-slot ring per thread.
    static final class Small {
        Small next;
        long a, b;
    }

    static void allocDrop(int nthreads, long count) throws InterruptedException {
        long[] sums = new long[nthreads];
        Thread[] ts = new Thread[nthreads];
        long t0 = System.nanoTime();
        for (int t = 0; t < nthreads; t++) {
            final int id = t;
            ts[t] = new Thread(() -> {
                Small[] ring = new Small[16];
                for (long i = 0; i < count; i++) {
                    Small o = new Small();
                    o.a = i;
                    ring[(int) (i & 15)] = o;
                }
                long s = 0;
                for (Small o : ring)
                    s += o == null ? 0 : o.a;
                sums[id] = s;
            });
            ts[t].start();
        }
        long sum = 0;
        for (int t = 0; t < nthreads; t++) {
            ts[t].join();
            sum += sums[t];
        }
        long t1 = System.nanoTime();
        System.out.printf("alloc-drop: %d thread(s) x %d objects, %.2f ns/object, sum %d%n", nthreads, count,
                          (t1 - t0) / ((double) count * nthreads), sum);
        System.out.printf("TIME_MS %.3f%n", (t1 - t0) / 1e6);
    }

    static void report(long t0) {
        System.out.printf("TIME_MS %.3f%n", (System.nanoTime() - t0) / 1e6);
    }

    static long arg(String s, long lo, long hi) {
        try {
            long v = Long.parseLong(s);
            return v < lo || v > hi ? -1 : v;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    public static void main(String[] args) throws InterruptedException {
        String w = args.length > 0 ? args[0] : "";
        long a = args.length > 1 ? arg(args[1], 1, 4000000000L) : -1;
        long b = args.length > 2 ? arg(args[2], 1, 4000000000L) : -1;
        if (w.equals("binary-trees") && args.length == 2 && a >= 4 && a <= 26) {
            binaryTrees((int) a);
        } else if (w.equals("gcbench") && args.length == 3 && a >= 4 && a <= 26 && b >= 4 && b <= 26) {
            System.exit(gcbench((int) a, (int) b));
        } else if (w.equals("steady") && args.length == 3 && a > 0 && a <= 100000000 && b > 0) {
            steady((int) a, b);
        } else if (w.equals("alloc-drop") && args.length == 3 && a >= 1 && a <= 64 && b > 0) {
            allocDrop((int) a, b);
        } else {
            System.err.println("usage: Workloads binary-trees DEPTH | gcbench STRETCH LONG_LIVED | steady N ITERATIONS | alloc-drop THREADS OBJECTS");
            System.exit(2);
        }
    }
}
