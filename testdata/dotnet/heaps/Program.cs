// Program.cs - `heaps SCENARIO`: builds one known .NET heap, prints what is true of it, then waits to be dumped.
// Owns: the scenario dispatch, the truth output (key=value lines, then "ready pid=N") and the wait on stdin.
using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;

namespace Heaps
{
    // The truths a scenario knows about its heap, printed one per line as key=value.
    // The harness (testdata/dotnet/dotnet-lib.sh) reads them and compares them with
    // gcanalyze's and SOS's answers on the dump taken while the program waits.
    internal static class Truth
    {
        public static void Put(string key, object value)
        {
            Console.Out.Write(key);
            Console.Out.Write('=');
            Console.Out.Write(Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture));
            Console.Out.Write('\n');
        }

        // The exact number of bytes `make` allocates on this thread: the object's size
        // as the GC sees it (header, method table pointer, fields, padding).
        [MethodImpl(MethodImplOptions.NoInlining)]
        public static T Measure<T>(Func<T> make, out long bytes)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            T obj = make();
            bytes = GC.GetAllocatedBytesForCurrentThread() - before;
            return obj;
        }
    }

    internal static class Program
    {
        private const string Usage =
            "usage: heaps SCENARIO [--no-wait]\n" +
            "Builds a known .NET heap, prints its truths (key=value), prints \"ready pid=N\" and waits\n" +
            "for a line (or the end) on stdin, so that createdump can dump it. Scenarios:\n" +
            "  events      a static event holding 2,000 widgets that should have unsubscribed\n" +
            "  lohfrag     large object heap fragmented by freed arrays, with a pinned array\n" +
            "  diamond     Top -> Left, Right -> Bottom -> payload: retained sizes, dominators\n" +
            "  finalizers  finalizable objects waiting on the f-reachable queue (finalizer blocked)\n" +
            "  list        a linked list of 1,000,000 nodes held by a static\n" +
            "  crash       an event leak, then an unhandled exception on a worker thread (run with\n" +
            "              DOTNET_DbgEnableMiniDump=1); crash-main: the same on the main thread";

        private static int Main(string[] args)
        {
            if (args.Length < 1 || args.Length > 2 || (args.Length == 2 && args[1] != "--no-wait")) {
                Console.Error.WriteLine(Usage);
                return 2;
            }
            Truth.Put("scenario", args[0]);
            switch (args[0]) {
            case "events": EventLeak.Build(); break;
            case "lohfrag": LohFrag.Build(); break;
            case "diamond": Diamond.Build(); break;
            case "finalizers": Finalizers.Build(); break;
            case "list": BigList.Build(); break;
            case "crash": Crash.Run(true); return 1; // does not return: the process dies
            case "crash-main": Crash.Run(false); return 1;
            default:
                Console.Error.WriteLine("heaps: unknown scenario '" + args[0] + "'");
                Console.Error.WriteLine(Usage);
                return 2;
            }
            Truth.Put("ready pid", Environment.ProcessId);
            Console.Out.Flush();
            if (args.Length == 1)
                Console.In.ReadLine();
            Finalizers.Release();
            return 0;
        }
    }
}
