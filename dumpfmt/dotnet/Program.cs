// Program.cs - gcdump-dotnet: reads a .NET core dump with ClrMD and writes a gcdump file through libgcdump's writer.
// Owns: the command line, the mapping of CoreCLR's heap, types and roots to the format's records (docs/dotnet.md).
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.Diagnostics.Runtime;

namespace GcDump.DotNet
{
    internal sealed class Options
    {
        public string Core, Out, Prog = "gcdump-dotnet", Name;
        public uint Signal, CrashTid;
        public ulong Fault;
        public int Level = 1, Threads = 1;
    }

    internal static class Program
    {
        private const string Usage =
            "usage: gcdump-dotnet [--signal N] [--fault ADDR] [--crash-tid TID] [--name LABEL] [--level N]\n" +
            "                     [--threads N] [--prog NAME] CORE OUT.gcdump\n" +
            "Converts the core dump of a .NET process (createdump, dotnet-dump collect, or a kernel core) into\n" +
            "a gcdump file. heapdump and gcanalyze run it; see docs/dotnet.md.";

        private static int Main(string[] args)
        {
            if (args.Length == 3 && args[0] == "--stack-roots-child")
                return StackWalk.Child(args[1], int.Parse(args[2]));
            var o = new Options();
            try {
                bool opts = true;
                for (int i = 0; i < args.Length; i++) {
                    string a = args[i];
                    if (opts && a == "--") {
                        opts = false;
                        continue;
                    }
                    if (!opts) {
                        if (o.Core == null) o.Core = a;
                        else if (o.Out == null) o.Out = a;
                        else throw new ArgumentException("one core and one output file");
                        continue;
                    }
                    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException(a + " needs a value");
                    switch (a) {
                    case "--signal": o.Signal = uint.Parse(Next()); break;
                    case "--fault": o.Fault = Convert.ToUInt64(Next(), 16); break;
                    case "--crash-tid": o.CrashTid = uint.Parse(Next()); break;
                    case "--name": o.Name = Next(); break;
                    case "--level": o.Level = int.Parse(Next()); break;
                    case "--threads": o.Threads = int.Parse(Next()); break;
                    case "--prog": o.Prog = Next(); break;
                    case "-h": case "--help": Console.WriteLine(Usage); return 0;
                    default:
                        if (a.StartsWith("-", StringComparison.Ordinal) && a.Length > 1)
                            throw new ArgumentException("unknown option " + a);
                        if (o.Core == null) o.Core = a;
                        else if (o.Out == null) o.Out = a;
                        else throw new ArgumentException("one core and one output file");
                        break;
                    }
                }
                if (o.Core == null || o.Out == null)
                    throw new ArgumentException("a core and an output file are needed");
            } catch (Exception e) when (e is ArgumentException || e is FormatException || e is OverflowException) {
                Console.Error.WriteLine("gcdump-dotnet: " + e.Message);
                Console.Error.WriteLine(Usage);
                return 2;
            }
            string label = o.Name ?? o.Core;
            try {
                Native.Install();
                var c = new Converter(o, label);
                c.Run();
                return 0;
            } catch (ConvertException e) {
                Console.Error.WriteLine(o.Prog + ": " + OneLine(e.Message));
                return 2;
            } catch (Exception e) {
                // ClrMD reports damage in many ways; the user gets one line, never a stack trace.
                Console.Error.WriteLine(o.Prog + ": " + OneLine(label + ": cannot read the .NET heap: " + e.GetType().Name + ": " + e.Message));
                return 2;
            }
        }

        internal static string OneLine(string s)
        {
            var b = new System.Text.StringBuilder();
            foreach (char ch in s ?? "")
                b.Append(ch < 32 || ch == 127 ? ' ' : ch);
            return b.ToString();
        }
    }

    internal sealed class Converter
    {
        private readonly Options o;
        private readonly string label;
        private DataTarget dt;
        private ClrRuntime rt;
        private ClrHeap heap;
        private string runtimeVersion = "";

        private sealed class Seg
        {
            public uint Kind, Flags;
            public ulong Begin, Allocated, Committed, ReservedEnd, Gen1, Gen0;
        }

        private sealed class TypeInfo
        {
            public ClrType T;
            public ulong Mt;
            public uint Id;
            public ulong BaseSize; // what the format calls base_size (docs/format.md, CoreCLR layout)
            public bool Variable;
            public bool Delegate;
        }

        private readonly List<Seg> segs = new List<Seg>();
        private System.Threading.Tasks.Task<SortedDictionary<ulong, List<StackWalk.Root>>> stacks;
        private readonly Dictionary<ulong, TypeInfo> types = new Dictionary<ulong, TypeInfo>();
        private readonly Dictionary<int, string> threadNames = new Dictionary<int, string>();
        private readonly Dictionary<ulong, string> methods = new Dictionary<ulong, string>();
        private long nobjects;

        public Converter(Options o, string label)
        {
            this.o = o;
            this.label = label;
        }

        private ConvertException Fail(string msg) => new ConvertException(label + ": " + msg);

        // GCDUMP_DOTNET_VERBOSE=1: each phase on stderr, with its time
        private static readonly bool verbose = Environment.GetEnvironmentVariable("GCDUMP_DOTNET_VERBOSE") == "1";
        private readonly System.Diagnostics.Stopwatch clock = System.Diagnostics.Stopwatch.StartNew();
        private void Phase(string what)
        {
            if (verbose)
                Console.Error.WriteLine("gcdump-dotnet: " + clock.ElapsedMilliseconds + " ms: " + what);
        }

        public void Run()
        {
            if (!File.Exists(o.Core))
                throw Fail("no such file");
            try {
                dt = DataTarget.LoadDump(o.Core);
            } catch (Exception e) {
                throw Fail("not a readable core dump (" + Program.OneLine(e.Message) + ")");
            }
            using (dt) {
                Phase("open");
                Open();
                // the stack walk's child process runs while this one walks the heap
                stacks = System.Threading.Tasks.Task.Run(() => StackWalk.Run(o.Core, msg => Console.Error.WriteLine(
                    o.Prog + ": " + label + ": warning: " + Program.OneLine(msg))));
                Phase("walk");
                Walk();
                Write();
            }
        }

        // The runtime: ClrMD finds libcoreclr.so in the core's module list; the DAC (libmscordaccore.so) comes
        // from the same folder of the shared framework when ClrMD does not find it by itself.
        // The DAC is native code loaded into this process, so its path never comes from the core: the core
        // only says which runtime version it ran (the name of libcoreclr.so's folder), and the DAC is taken from
        // that version's folder in a .NET installation on this machine, or from GCDUMP_DOTNET_DAC.
        internal static ClrRuntime OpenRuntime(DataTarget dt, Func<string, ConvertException> fail, out string version)
        {
            if (dt.ClrVersions.Length == 0)
                throw fail("not a .NET process (no libcoreclr.so in the core)");
            ClrInfo clr = dt.ClrVersions[0];
            if (clr.Flavor != ClrFlavor.Core)
                throw fail("unsupported runtime: " + clr.Flavor + " (only CoreCLR, .NET Core 3.1 and later)");
            string dumpDir = Path.GetFileName(Path.GetDirectoryName(clr.ModuleInfo.FileName ?? "") ?? "") ?? "";
            bool named = dumpDir.Length > 0 && dumpDir.Length < 64 && char.IsDigit(dumpDir[0]) &&
                         dumpDir.All(ch => char.IsLetterOrDigit(ch) || ch == '.' || ch == '-' || ch == '+');
            version = ".NET " + (clr.Version.Major > 0 ? clr.Version.ToString() : named ? dumpDir : "(unknown version)");
            string dac = Environment.GetEnvironmentVariable("GCDUMP_DOTNET_DAC");
            if (string.IsNullOrEmpty(dac)) {
                if (!named)
                    throw fail("unsupported runtime version: the core does not say which (" + Program.OneLine(dumpDir) +
                               "); name its libmscordaccore.so in GCDUMP_DOTNET_DAC");
                var roots = new List<string>();
                string own = System.Runtime.InteropServices.RuntimeEnvironment.GetRuntimeDirectory().TrimEnd('/');
                roots.Add(Path.GetDirectoryName(own)); // .../shared/Microsoft.NETCore.App
                string env = Environment.GetEnvironmentVariable("DOTNET_ROOT");
                if (!string.IsNullOrEmpty(env))
                    roots.Add(Path.Combine(env, "shared", "Microsoft.NETCore.App"));
                roots.Add("/usr/share/dotnet/shared/Microsoft.NETCore.App");
                roots.Add("/usr/lib/dotnet/shared/Microsoft.NETCore.App");
                dac = roots.Where(r => r != null).Select(r => Path.Combine(r, dumpDir, "libmscordaccore.so"))
                           .FirstOrDefault(File.Exists);
                if (dac == null)
                    throw fail("unsupported runtime version " + version + ": its DAC (libmscordaccore.so) is not on this " +
                               "machine; install that .NET runtime, or name the file in GCDUMP_DOTNET_DAC");
            }
            try {
                return clr.CreateRuntime(dac, true);
            } catch (Exception e) {
                throw fail("unsupported runtime version " + version + ": " + Program.OneLine(e.Message));
            }
        }

        private void Open()
        {
            rt = OpenRuntime(dt, Fail, out runtimeVersion);
            try {
                heap = rt.Heap;
            } catch (Exception e) {
                throw Fail("cannot read the GC heap's description (a mini dump, or a damaged core?): " + Program.OneLine(e.Message));
            }
            if (heap.Segments.Length == 0)
                throw Fail("the dump describes no GC heap segments (a mini dump without the heap?)");
        }

        private TypeInfo TypeOf(ClrType t)
        {
            if (types.TryGetValue(t.MethodTable, out TypeInfo ti))
                return ti;
            ti = new TypeInfo { T = t, Mt = t.MethodTable, Id = (uint)types.Count + 1 };
            ti.Variable = t.IsArray || t.IsString || t.IsFree;
            ti.Delegate = IsDelegate(t);
            ti.BaseSize = ti.Variable ? (ulong)Math.Max(t.StaticSize - 8, 8) : (ulong)t.StaticSize;
            types[t.MethodTable] = ti;
            return ti;
        }

        // CoreCLR's size rule as the format states it for GCD_HF_CLR dumps.
        private static ulong FormatSize(TypeInfo ti, ulong len)
        {
            if (!ti.Variable)
                return ti.BaseSize;
            ulong unit = (ulong)ti.T.ComponentSize;
            ulong n = ti.BaseSize + len * unit + 8 + (ti.T.IsString ? unit : 0);
            n = (n + 7) & ~7ul;
            return n < 24 ? 24 : n;
        }

        private static ulong Align8(ulong v) => (v + 7) & ~7ul;

        private bool Readable(ulong addr, int len)
        {
            var b = new byte[Math.Min(len, 4096)];
            return dt.DataReader.Read(addr, b) == b.Length;
        }

        // Pass 1: every object of every segment, for the types and for the holes that must become free objects
        // (allocation contexts: the format's segments are walkable from begin to allocated).
        private void Walk()
        {
            var sorted = heap.Segments.OrderBy(s => s.ObjectRange.Start).ToList();
            int unreadable = 0, withObjects = 0;
            foreach (ClrSegment s in sorted) {
                ulong begin = s.ObjectRange.Start, end = s.ObjectRange.End;
                if (end < begin || begin % 8 != 0)
                    continue;
                ulong committed = Math.Max(end, s.CommittedMemory.End);
                ulong reserved = Math.Max(committed, s.ReservedMemory.End);
                // the walkable runs of the segment: ClrMD skips the unused part of each allocation context, and
                // the format's segments are walkable from begin to allocated, so a hole ends one run
                var runs = new List<(ulong b, ulong e)>();
                if (begin < end) {
                    withObjects++;
                    if (!Readable(begin, 64)) {
                        unreadable++;
                        continue;
                    }
                    ulong runStart = begin, cur = begin;
                    foreach (ClrObject obj in s.EnumerateObjects()) {
                        ulong a = obj.Address;
                        if (a < cur || a >= end)
                            break;
                        ClrType t = obj.Type;
                        if (t == null) {
                            Console.Error.WriteLine(o.Prog + ": " + label + ": warning: object at 0x" + a.ToString("x") +
                                                    " has no readable type; segment 0x" + begin.ToString("x") + " cut there");
                            break;
                        }
                        if (a > cur) {
                            if (cur > runStart)
                                runs.Add((runStart, cur));
                            runStart = a;
                        }
                        TypeInfo ti = TypeOf(t);
                        ulong len = ti.Variable ? ReadU32(a + 8) : 0;
                        ulong size = FormatSize(ti, len);
                        if (size != Align8(obj.Size)) {
                            throw Fail("object 0x" + a.ToString("x") + " (" + t.Name + "): ClrMD says " + obj.Size +
                                       " bytes, the CoreCLR layout rule " + size + ": unsupported runtime layout");
                        }
                        if (t.Name == "System.Threading.Thread")
                            NoteThread(obj);
                        if (ti.Delegate)
                            NoteDelegate(obj);
                        nobjects++;
                        cur = a + size;
                    }
                    if (cur > runStart)
                        runs.Add((runStart, cur));
                }
                if (runs.Count == 0)
                    runs.Add((begin, begin));
                for (int i = 0; i < runs.Count; i++) {
                    var (b, e) = runs[i];
                    var g = new Seg { Begin = b, Allocated = e };
                    bool last = i + 1 == runs.Count;
                    g.Committed = last ? Math.Max(committed, e) : runs[i + 1].b;
                    g.ReservedEnd = last ? Math.Max(reserved, g.Committed) : runs[i + 1].b;
                    switch (s.Kind) {
                    case GCSegmentKind.Large: g.Kind = 1; break;
                    case GCSegmentKind.Pinned: g.Kind = 2; break;
                    case GCSegmentKind.Frozen: g.Kind = 3; break;
                    case GCSegmentKind.Generation0: g.Flags = 1; g.Gen1 = b; g.Gen0 = b; break;
                    case GCSegmentKind.Generation1: g.Flags = 1; g.Gen1 = b; g.Gen0 = e; break;
                    case GCSegmentKind.Ephemeral:
                        g.Flags = 1;
                        g.Gen1 = Math.Clamp(s.Generation1.Start, b, e);
                        g.Gen0 = Math.Clamp(s.Generation0.Start, g.Gen1, e);
                        g.Gen1 -= g.Gen1 % 8;
                        g.Gen0 -= g.Gen0 % 8;
                        if (g.Gen1 < b) g.Gen1 = b;
                        if (g.Gen0 < g.Gen1) g.Gen0 = g.Gen1;
                        break;
                    default: break; // Generation2
                    }
                    segs.Add(g);
                }
            }
            if (withObjects > 0 && unreadable == withObjects)
                throw Fail("the dump holds no GC heap memory (a mini dump? take a full or with-heap dump, see docs/dotnet.md)");
            if (unreadable > 0)
                Console.Error.WriteLine(o.Prog + ": " + label + ": warning: " + unreadable + " heap segments are not in the dump");
            // overlapping reservations (frozen segments sit anywhere): clamp to the next segment's start
            segs.Sort((x, y) => x.Begin.CompareTo(y.Begin));
            for (int i = 0; i + 1 < segs.Count; i++)
                if (segs[i].ReservedEnd > segs[i + 1].Begin) {
                    segs[i].ReservedEnd = Math.Max(segs[i].Allocated, segs[i + 1].Begin);
                    segs[i].Committed = Math.Min(segs[i].Committed, segs[i].ReservedEnd);
                }
        }

        private uint ReadU32(ulong a)
        {
            Span<byte> b = stackalloc byte[4];
            if (dt.DataReader.Read(a, b) != 4)
                throw Fail("memory at 0x" + a.ToString("x") + " is not in the dump (truncated core?)");
            return BitConverter.ToUInt32(b);
        }

        private ulong ReadU64(ulong a)
        {
            Span<byte> b = stackalloc byte[8];
            return dt.DataReader.Read(a, b) == 8 ? BitConverter.ToUInt64(b) : 0;
        }


        private void NoteThread(ClrObject obj)
        {
            try {
                int id = obj.ReadField<int>("_managedThreadId");
                string name = obj.ReadStringField("_name");
                if (name != null)
                    threadNames[id] = name;
            } catch (Exception) {
                // a Thread object of another layout: no name
            }
        }

        private void NoteDelegate(ClrObject obj)
        {
            try {
                ulong mp = obj.ReadField<ulong>("_methodPtr");
                if (mp == 0 || methods.ContainsKey(mp))
                    return;
                ClrDelegateTarget dtg = obj.AsDelegate().GetDelegateTarget();
                ClrMethod m = dtg?.Method;
                if (m != null)
                    methods[mp] = (m.Type?.Name ?? "?") + "." + m.Name;
            } catch (Exception) {
                // unnamed method
            }
        }

        // ---------------------------------------------------------------- writing
        private void Write()
        {
            uint flags = K.HfClr | (heap.CanWalkHeap ? 0u : 1u);
            using var w = new Writer(o.Out, flags, (uint)dt.DataReader.ProcessId, o.Level, o.Threads);
            Phase("WriteProcess");
            WriteProcess(w);
            Phase("WriteReason");
            WriteReason(w);
            Phase("WriteRuntime");
            WriteRuntime(w);
            Phase("CollectStatics");
            var statics = CollectStatics();
            Phase("WriteTypes");
            WriteTypes(w);
            Phase("WriteMethods");
            WriteMethods(w);
            Phase("WriteSegments");
            WriteSegments(w);
            Phase("WriteThreads");
            WriteThreads(w);
            Phase("WriteStatics");
            WriteStatics(w, statics);
            Phase("WriteHandles");
            WriteHandles(w);
            Phase("WriteQueues");
            WriteQueues(w);
            Phase("WriteMemory");
            WriteMemory(w);
            Phase("w.Finish");
            w.Finish();
        }

        private void WriteProcess(Writer w)
        {
            string exe = "";
            foreach (ModuleInfo m in dt.DataReader.EnumerateModules()) {
                if (m.FileName != null && !m.FileName.EndsWith(".so", StringComparison.Ordinal) &&
                    !m.FileName.Contains(".so.", StringComparison.Ordinal) && !m.FileName.EndsWith(".dll", StringComparison.Ordinal)) {
                    exe = m.FileName;
                    break;
                }
            }
            // the app's own assembly names the process better than the host (dotnet) does
            string app = rt.EnumerateModules().Select(m => m.Name).FirstOrDefault(n => n != null &&
                n.EndsWith(".dll", StringComparison.Ordinal) && !Path.GetFileName(n).StartsWith("System.", StringComparison.Ordinal) &&
                !Path.GetFileName(n).StartsWith("Microsoft.", StringComparison.Ordinal) && Path.GetFileName(n) != "netstandard.dll");
            w.Begin(K.Process);
            w.U32((uint)dt.DataReader.ProcessId);
            w.U32(0);
            w.U64(0);
            w.Str(app != null ? Path.GetFileNameWithoutExtension(app) : Path.GetFileName(exe));
            w.Str(exe);
            w.Str("");
            w.Str(runtimeVersion);
            w.End();
            w.EndList();
        }

        private void WriteReason(Writer w)
        {
            w.Begin(K.Reason);
            w.U32(o.Signal != 0 ? 1u : 0u);
            w.U32(o.Signal);
            w.U64(o.Fault);
            ulong managed = 0;
            if (o.CrashTid != 0)
                managed = (ulong)(rt.Threads.FirstOrDefault(t => t.OSThreadId == o.CrashTid)?.ManagedThreadId ?? 0);
            w.U64(managed);
            w.U32(o.CrashTid);
            w.U32(heap.CanWalkHeap ? 0u : 1u);
            w.U64(0);
            w.U32(0);
            w.U32(0);
            w.Str(o.Signal != 0 ? "crash (from .NET core file " + Path.GetFileName(label) + ")"
                                : "from .NET core file " + Path.GetFileName(label));
            w.End();
            w.EndList();
        }

        private void WriteRuntime(Writer w)
        {
            w.Begin(K.Runtime);
            void S(string k, string v) { w.Str(k); w.U32(2); w.U32(0); w.Str(v); w.End(); }
            void U(string k, ulong v) { w.Str(k); w.U32(0); w.U32(0); w.U64(v); w.End(); }
            S("runtime.version", runtimeVersion);
            S("runtime.flavor", "coreclr");
            S("gc.mode", heap.IsServer ? "server" : "workstation");
            U("gc.heaps", (ulong)heap.SubHeaps.Length);
            U("gc.loh_threshold", 85000);
            U("dotnet.objects", (ulong)nobjects);
            S("dotnet.converter", "gcdump-dotnet (ClrMD " + typeof(DataTarget).Assembly.GetName().Version + ")");
            w.EndList();
        }

        private static uint KindOf(ClrElementType e, bool isRef)
        {
            if (isRef) return 1;
            switch (e) {
            case ClrElementType.Boolean: return 2;
            case ClrElementType.Char: return 3;
            case ClrElementType.Int8: return 4;
            case ClrElementType.UInt8: return 5;
            case ClrElementType.Int16: return 6;
            case ClrElementType.UInt16: return 7;
            case ClrElementType.Int32: return 8;
            case ClrElementType.UInt32: return 9;
            case ClrElementType.Int64: return 10;
            case ClrElementType.UInt64: return 11;
            case ClrElementType.Float: return 12;
            case ClrElementType.Double: return 13;
            case ClrElementType.NativeInt: case ClrElementType.NativeUInt: case ClrElementType.Pointer:
            case ClrElementType.FunctionPointer: return 14;
            case ClrElementType.String: case ClrElementType.Class: case ClrElementType.Object:
            case ClrElementType.Array: case ClrElementType.SZArray: return 1;
            default: return 15;
            }
        }

        private static bool IsDelegate(ClrType t)
        {
            for (ClrType b = t; b != null; b = b.BaseType)
                if (b.Name == "System.Delegate")
                    return true;
            return false;
        }

        // Instance fields with offsets from the object's start (ClrMD's are from the first field); an embedded
        // struct is flattened into its fields ("outer.inner"), so references inside it are seen.
        private static void Fields(ClrType t, ulong baseOff, string prefix, int depth, List<(string, uint, uint, uint, string)> into)
        {
            foreach (ClrInstanceField f in t.Fields) {
                ulong off = baseOff + (ulong)f.Offset;
                string name = prefix + f.Name;
                if (f.ElementType == ClrElementType.Struct && f.Type != null && depth < 8 && f.Type.Fields.Length > 0 &&
                    !f.Type.IsPrimitive) {
                    Fields(f.Type, off, name + ".", depth + 1, into);
                    continue;
                }
                bool isRef = f.IsObjectReference;
                uint kind = KindOf(f.ElementType, isRef);
                uint size = isRef ? 8u : (uint)Math.Max(f.Size, 0);
                if (isRef && off % 8 != 0)
                    continue; // cannot happen on x64; the format wants aligned references
                into.Add((name, (uint)off, kind, size, f.Type?.Name ?? ""));
            }
        }

        private void WriteTypes(Writer w)
        {
            w.Begin(K.Types);
            foreach (TypeInfo ti in types.Values.OrderBy(x => x.Id)) {
                ClrType t = ti.T;
                uint flags = 0;
                if (t.IsFinalizable) flags |= K.TfFinalizable;
                if (ti.Delegate) flags |= K.TfDelegate;
                if (t.IsString) flags |= K.TfString;
                if (t.IsFree) flags |= K.TfFree;
                if (t.IsValueType) flags |= K.TfBoxed;
                uint ekind = 0;
                ulong emt = 0;
                var fields = new List<(string, uint, uint, uint, string)>();
                if (t.IsArray) {
                    flags |= K.TfArray;
                    ClrType ct = t.ComponentType;
                    bool eref = ct == null ? t.ComponentSize == 8 && t.ContainsPointers : ct.IsObjectReference;
                    ekind = eref ? 1u : ct != null ? KindOf(ct.ElementType, false) : 15u;
                    if (eref)
                        emt = ct?.MethodTable ?? 0;
                    else
                        flags |= K.TfValueArray;
                    // an array of structs: the fields of one element (offsets from its start), so the
                    // references inside them (Dictionary entries, KeyValuePair[]) are followed
                    if (!eref && ct != null && ct.IsValueType && ct.ElementType == ClrElementType.Struct &&
                        t.ComponentSize >= 8)
                        Fields(ct, 0, "", 0, fields);
                    if (emt != 0 && !types.ContainsKey(emt))
                        emt = 0; // the element type is named only when it is in TYPES
                } else if (!t.IsString && !t.IsFree) {
                    Fields(t, 8, "", 0, fields);
                }
                // a field the format's checks would refuse (outside the object or the element) is left out
                ulong room = t.IsArray ? (ulong)t.ComponentSize : ti.BaseSize;
                fields.RemoveAll(f => (ulong)f.Item2 + (f.Item4 != 0 ? f.Item4 : 8u) > room);
                w.U64(ti.Mt);
                w.U32(ti.Id);
                w.U32(flags);
                w.U64(ti.BaseSize);
                w.U64(ti.Variable ? (ulong)t.ComponentSize : 0);
                w.U32(ekind);
                w.U32((uint)fields.Count);
                w.U64(emt);
                w.Str(t.Name ?? ("<type 0x" + ti.Mt.ToString("x") + ">"));
                foreach (var f in fields) {
                    w.Str(f.Item1);
                    w.U32(f.Item2);
                    w.U32(f.Item3);
                    w.U32(f.Item4);
                    w.U32(0);
                    w.Str(f.Item5);
                }
                w.End();
            }
            w.EndList();
        }

        private void WriteMethods(Writer w)
        {
            w.Begin(K.Methods);
            uint id = 1;
            foreach (var kv in methods.OrderBy(k => k.Key)) {
                w.U64(kv.Key);
                w.U32(id++);
                w.U32(0);
                w.Str(kv.Value);
                w.End();
            }
            w.EndList();
        }

        private void WriteSegments(Writer w)
        {
            w.Begin(K.Segments);
            foreach (Seg g in segs) {
                w.U32(g.Kind);
                w.U32(g.Flags);
                w.U64(g.Begin);
                w.U64(g.Allocated);
                w.U64(g.Committed);
                w.U64(g.ReservedEnd);
                w.U64(g.Flags != 0 ? g.Gen1 : 0);
                w.U64(g.Flags != 0 ? g.Gen0 : 0);
                w.End();
            }
            w.EndList();
        }

        private void WriteThreads(Writer w)
        {
            var frames = new List<(ulong tid, uint depth, string fn, List<(ulong v, uint fl, string name)> slots)>();
            var perThread = new Dictionary<ulong, uint>();
            // The DAC's stack walker runs native code that can crash on a thread caught in the middle of
            // exception dispatch (a crash dump); it runs in a child process, which is started again after
            // the thread it died on.
            var walked = stacks.GetAwaiter().GetResult();
            foreach (var kv in walked) {
                var order = new Dictionary<(ulong, ulong), int>();
                var list = new List<(string fn, List<(ulong, uint, string)> slots)>();
                foreach (StackWalk.Root r in kv.Value) {
                    if (!order.TryGetValue((r.Sp, r.Ip), out int k)) {
                        k = list.Count;
                        order[(r.Sp, r.Ip)] = k;
                        list.Add((r.Function, new List<(ulong, uint, string)>()));
                    }
                    if (r.Object == 0)
                        continue;
                    string slot = r.Slot != 0 ? "[0x" + r.Slot.ToString("x") + "]" : "register";
                    if (r.Interior)
                        slot += " (interior)";
                    list[k].slots.Add((r.Object, r.Pinned ? 1u : 0u, slot));
                }
                for (int i = 0; i < list.Count; i++)
                    frames.Add((kv.Key, (uint)i, list[i].fn, list[i].slots));
                perThread[kv.Key] = (uint)list.Count;
            }
            w.Begin(K.Threads);
            foreach (ClrThread t in rt.Threads) {
                if (!t.IsAlive)
                    continue;
                ulong tid = (ulong)t.ManagedThreadId;
                w.U64(tid);
                w.U32(t.OSThreadId);
                w.U32((t.IsFinalizer ? 1u : 0u) | (t.GCMode == GCMode.Preemptive ? 2u : 0u));
                w.U32(perThread.TryGetValue(tid, out uint nf) ? nf : 0);
                w.U32(0);
                w.Str(threadNames.TryGetValue(t.ManagedThreadId, out string nm) ? nm : t.IsFinalizer ? ".NET Finalizer" : "");
                w.End();
            }
            w.EndList();
            w.Begin(K.Frames);
            foreach (var f in frames) {
                w.U64(f.tid);
                w.U32(f.depth);
                w.U32((uint)f.slots.Count);
                w.Str(f.fn);
                foreach (var s in f.slots) {
                    w.U64(s.v);
                    w.U32(s.fl);
                    w.U32(0);
                    w.Str(s.name);
                }
                w.End();
            }
            w.EndList();
        }

        private sealed class StaticRoot
        {
            public ulong OwnerMt, Thread, Value, Address; // Address: where the field is stored, 0 unknown
            public string Field, TypeName;
        }

        // Static and thread-static reference fields of every type a module maps (generic instantiations
        // included when the heap holds one of their instances).
        private (List<StaticRoot>, List<StaticRoot>) CollectStatics()
        {
            var st = new List<StaticRoot>();
            var ts = new List<StaticRoot>();
            var seen = new HashSet<ulong>();
            ClrAppDomain dom = rt.AppDomains.FirstOrDefault();
            var candidates = new List<ClrType>();
            foreach (ClrModule m in rt.EnumerateModules()) {
                try {
                    foreach (ClrType t in m.EnumerateTypesWithStaticFields())
                        candidates.Add(t);
                } catch (Exception) {
                    // a module whose metadata is not in the dump
                }
            }
            candidates.AddRange(types.Values.Select(x => x.T).ToList());
            foreach (ClrType t in candidates) {
                if (t == null || !seen.Add(t.MethodTable))
                    continue;
                string owner = t.Name ?? "?";
                foreach (ClrStaticField f in t.StaticFields) {
                    if (!f.IsObjectReference)
                        continue;
                    foreach (ClrAppDomain d in dom != null ? rt.AppDomains : Enumerable.Empty<ClrAppDomain>()) {
                        try {
                            if (!f.IsInitialized(d))
                                continue;
                            ulong v = f.ReadObject(d).Address;
                            if (v == 0)
                                continue;
                            st.Add(new StaticRoot { OwnerMt = t.MethodTable, Value = v, Address = StaticAddress(() => f.GetAddress(d), v),
                                                    Field = f.Name, TypeName = f.Type?.Name ?? "" });
                            TypeOf(t);
                        } catch (Exception) {
                        }
                    }
                }
                foreach (ClrThreadStaticField f in t.ThreadStaticFields) {
                    if (!f.IsObjectReference)
                        continue;
                    foreach (ClrThread th in rt.Threads) {
                        try {
                            if (!th.IsAlive || !f.IsInitialized(th))
                                continue;
                            ulong v = f.ReadObject(th).Address;
                            if (v == 0)
                                continue;
                            ts.Add(new StaticRoot { OwnerMt = t.MethodTable, Thread = (ulong)th.ManagedThreadId, Value = v,
                                                    Address = StaticAddress(() => f.GetAddress(th), v), Field = f.Name,
                                                    TypeName = f.Type?.Name ?? "" });
                            TypeOf(t);
                        } catch (Exception) {
                        }
                    }
                }
            }
            return (st, ts);
        }

        // A static field's address, kept only when the value read there is the static's: .NET keeps
        // reference statics in a pinned object[] of the heap, whose element is the same reference
        // (the analyzer cuts that element when it asks what the static alone holds).
        private ulong StaticAddress(Func<ulong> get, ulong value)
        {
            try {
                ulong a = get();
                return a != 0 && ReadU64(a) == value ? a : 0;
            } catch (Exception) {
                return 0;
            }
        }

        private void WriteStatics(Writer w, (List<StaticRoot> st, List<StaticRoot> ts) s)
        {
            w.Begin(K.Statics);
            foreach (StaticRoot r in s.st) {
                w.U64(r.OwnerMt);
                w.U64(r.Value);
                w.Str(r.Field);
                w.Str(r.TypeName);
                w.End();
            }
            w.EndList();
            w.Begin(K.ThreadStatics);
            foreach (StaticRoot r in s.ts) {
                w.U64(r.OwnerMt);
                w.U64(r.Thread);
                w.U64(r.Value);
                w.Str(r.Field);
                w.Str(r.TypeName);
                w.End();
            }
            w.EndList();
            // STATIC_ADDRESSES (format 1.2): the field address of each static above, by list and index.
            w.Begin(K.StaticAddresses);
            for (int list = 0; list < 2; list++) {
                List<StaticRoot> l = list == 0 ? s.st : s.ts;
                for (int i = 0; i < l.Count; i++) {
                    if (l[i].Address == 0)
                        continue;
                    w.U32((uint)list);
                    w.U32(0);
                    w.U64((ulong)i);
                    w.U64(l[i].Address);
                    w.End();
                }
            }
            w.EndList();
        }

        private void WriteHandles(Writer w)
        {
            w.Begin(K.Handles);
            foreach (ClrHandle h in rt.EnumerateHandles()) {
                uint kind;
                switch (h.HandleKind) {
                case ClrHandleKind.Strong: kind = 0; break;
                case ClrHandleKind.WeakShort: kind = 1; break;
                case ClrHandleKind.WeakLong: kind = 2; break;
                case ClrHandleKind.Pinned: kind = 3; break;
                case ClrHandleKind.AsyncPinned: kind = 4; break;
                case ClrHandleKind.Dependent: kind = 5; break;
                case ClrHandleKind.RefCounted: kind = 6; break;
                case ClrHandleKind.SizedRef: kind = 7; break;
                case ClrHandleKind.WeakWinRT: kind = 8; break;
                default: continue;
                }
                w.U64(h.Address);
                w.U64(h.Object.Address);
                w.U32(kind);
                w.U32(0);
                w.End();
            }
            w.EndList();
        }

        private void WriteQueues(Writer w)
        {
            // EnumerateFinalizableObjects walks the whole finalization queue,
            // its f-reachable part included; SOS (and our format) keep the two
            // apart: each object goes in exactly one queue.
            var ready = new List<ulong>();
            var readySet = new HashSet<ulong>();
            foreach (ClrRoot r in heap.EnumerateFinalizerRoots()) {
                ready.Add(r.Object.Address);
                readySet.Add(r.Object.Address);
            }
            w.Begin(K.Finq);
            foreach (ClrObject obj in heap.EnumerateFinalizableObjects()) {
                if (readySet.Contains(obj.Address))
                    continue;
                w.U64(obj.Address);
                w.End();
            }
            w.EndList();
            w.Begin(K.Freachable);
            foreach (ulong a in ready) {
                w.U64(a);
                w.End();
            }
            w.EndList();
        }

        // Pass 2: the bytes of every walkable run, as the dump holds them.
        private void WriteMemory(Writer w)
        {
            const int Block = 4 << 20;
            var buf = new byte[Block];
            foreach (Seg g in segs) {
                for (ulong at = g.Begin; at < g.Allocated;) {
                    int n = (int)Math.Min((ulong)Block, g.Allocated - at);
                    int got = dt.DataReader.Read(at, buf.AsSpan(0, n));
                    if (got != n)
                        throw Fail("heap memory at 0x" + (at + (ulong)Math.Max(got, 0)).ToString("x") +
                                   " is not in the dump (a truncated core, or a dump without the heap)");
                    w.Memory(at, buf, n);
                    at += (ulong)n;
                }
            }
        }
    }
}
