// Walk.cs - `dotnet-bench walk CORE`: opens a .NET core dump with ClrMD and only enumerates its heap objects (and, if asked, roots).
// Owns: the floor of the converter's throughput: objects/s of ClrMD's own walk, with nothing written.
using System;
using System.Diagnostics;
using Microsoft.Diagnostics.Runtime;

internal static class Walk
{
    public static int Run(string[] args)
    {
        if (args.Length < 1 || args.Length > 2 || (args.Length == 2 && args[1] != "--roots" && args[1] != "--refs" && args[1] != "--stacks")) {
            Console.Error.WriteLine("usage: dotnet-bench walk CORE [--roots|--refs|--stacks]\n" +
                                    "Enumerates every object of the heap (with --refs, also each object's references;\n" +
                                    "with --roots, also every root; with --stacks, the stack roots thread by thread) and prints objects=N bytes=N seconds=S objects_per_s=R.");
            return 2;
        }
        try {
            var sw = Stopwatch.StartNew();
            using DataTarget dt = DataTarget.LoadDump(args[0]);
            if (dt.ClrVersions.Length == 0) {
                Console.Error.WriteLine("dotnet-bench walk: " + args[0] + ": no .NET runtime in this dump");
                return 1;
            }
            ClrInfo clr = dt.ClrVersions[0];
            ClrRuntime made;
            try {
                made = clr.CreateRuntime();
            } catch (Exception) {
                // the DAC of the same runtime on this machine: beside libcoreclr.so
                string dir = System.IO.Path.GetDirectoryName(clr.ModuleInfo.FileName ?? "") ?? "";
                made = clr.CreateRuntime(System.IO.Path.Combine(dir, "libmscordaccore.so"), true);
            }
            using ClrRuntime rt = made;
            ClrHeap heap = rt.Heap;
            long n = 0, bytes = 0, refs = 0, roots = 0;
            bool withRefs = args.Length == 2 && args[1] == "--refs";
            foreach (ClrObject o in heap.EnumerateObjects()) {
                n++;
                bytes += (long)o.Size;
                if (withRefs)
                    foreach (ClrObject r in o.EnumerateReferences())
                        refs++;
            }
            if (args.Length == 2 && args[1] == "--roots")
                foreach (ClrRoot r in heap.EnumerateRoots())
                    roots++;
            if (args.Length == 2 && args[1] == "--stacks")
                foreach (ClrThread t in rt.Threads) {
                    Console.Error.WriteLine($"dotnet-bench walk: stack roots of thread {t.ManagedThreadId} (OS {t.OSThreadId})");
                    foreach (ClrStackRoot r in t.EnumerateStackRoots())
                        roots++;
                }
            double s = sw.Elapsed.TotalSeconds;
            Console.WriteLine($"objects={n} bytes={bytes} refs={refs} roots={roots} seconds={s:F3} objects_per_s={n / s:F0}");
            return 0;
        } catch (Exception e) {
            Console.Error.WriteLine("dotnet-bench walk: " + args[0] + ": " + e.GetType().Name + ": " + e.Message.Replace('\n', ' '));
            return 1;
        }
    }
}
