// Program.cs - dotnet-bench: the .NET programs of bench/dotnet, one build: `heap [MILLIONS]` and `walk CORE`.
// Owns: the dispatch between the two modes.
using System;

internal static class Program
{
    private static int Main(string[] args)
    {
        if (args.Length >= 1 && args[0] == "heap")
            return Bench.Heap.Run(args[1..]);
        if (args.Length >= 1 && args[0] == "walk")
            return Walk.Run(args[1..]);
        Console.Error.WriteLine("usage: dotnet-bench heap [MILLIONS] | dotnet-bench walk CORE [--roots|--refs|--stacks]");
        return 2;
    }
}
