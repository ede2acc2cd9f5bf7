// StackWalk.cs - the stack roots of every managed thread, walked by ClrMD in a child process of the converter.
// Owns: the child's mode (--stack-roots-child CORE SKIP), its line protocol, and restarting it past a thread it died on.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Reflection;
using Microsoft.Diagnostics.Runtime;

namespace GcDump.DotNet
{
    internal static class StackWalk
    {
        internal sealed class Root
        {
            public ulong Sp, Ip, Slot, Object;
            public string Function;
            public bool Pinned, Interior;
        }

        private static string Clean(string s) => (s ?? "?").Replace('\t', ' ').Replace('\n', ' ').Replace('\r', ' ');

        // The child: "T id" when a thread starts, "R id sp ip slot object pinned interior function" per root,
        // "D id" when it is done; threads in rt.Threads order, the first skip live ones left out.
        internal static int Child(string core, int skip)
        {
            try {
                using DataTarget dt = DataTarget.LoadDump(core);
                using ClrRuntime rt = Converter.OpenRuntime(dt, m => new ConvertException(m), out _);
                var w = new StreamWriter(Console.OpenStandardOutput()) { AutoFlush = true, NewLine = "\n" };
                int idx = 0;
                foreach (ClrThread t in rt.Threads) {
                    if (!t.IsAlive || idx++ < skip)
                        continue;
                    int id = t.ManagedThreadId;
                    w.WriteLine("T\t" + id);
                    try {
                        foreach (ClrStackRoot r in t.EnumerateStackRoots()) {
                            ClrStackFrame f = r.StackFrame;
                            string fn = f?.Method != null ? (f.Method.Type?.Name + "." + f.Method.Name) : (f?.FrameName ?? "?");
                            w.WriteLine(string.Join("\t", "R", id.ToString(CultureInfo.InvariantCulture),
                                                    (f?.StackPointer ?? 0).ToString("x"), (f?.InstructionPointer ?? 0).ToString("x"),
                                                    r.Address.ToString("x"), r.Object.Address.ToString("x"),
                                                    r.IsPinned ? "1" : "0", r.IsInterior ? "1" : "0", Clean(fn)));
                        }
                    } catch (Exception e) {
                        w.WriteLine("E\t" + id + "\t" + Clean(e.Message));
                    }
                    w.WriteLine("D\t" + id);
                }
                return 0;
            } catch (Exception e) {
                Console.Error.WriteLine("stack walk: " + Program.OneLine(e.Message));
                return 2;
            }
        }

        // How this program is started again: the apphost, or "dotnet gcdump-dotnet.dll".
        private static ProcessStartInfo Self()
        {
            string exe = Environment.ProcessPath ?? "dotnet";
            var psi = new ProcessStartInfo(exe) { UseShellExecute = false, RedirectStandardOutput = true,
                                                  RedirectStandardError = true };
            string name = Path.GetFileNameWithoutExtension(exe);
            if (name == "dotnet")
                psi.ArgumentList.Add(Assembly.GetExecutingAssembly().Location);
            return psi;
        }

        // Roots per managed thread id, in thread order.
        internal static SortedDictionary<ulong, List<Root>> Run(string core, Action<string> warn)
        {
            var result = new SortedDictionary<ulong, List<Root>>();
            int skip = 0;
            for (int attempt = 0; attempt < 64; attempt++) {
                ProcessStartInfo psi = Self();
                psi.ArgumentList.Add("--stack-roots-child");
                psi.ArgumentList.Add(Path.GetFullPath(core));
                psi.ArgumentList.Add(skip.ToString(CultureInfo.InvariantCulture));
                using Process p = Process.Start(psi);
                string err = "";
                p.ErrorDataReceived += (_, e) => { if (e.Data != null && err.Length < 4096) err += e.Data + " "; };
                p.BeginErrorReadLine();
                int started = 0;
                ulong open = 0;
                bool inThread = false;
                string line;
                while ((line = p.StandardOutput.ReadLine()) != null) {
                    string[] f = line.Split('\t');
                    if (f.Length < 2 || !ulong.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out ulong id))
                        continue;
                    switch (f[0]) {
                    case "T":
                        started++;
                        open = id;
                        inThread = true;
                        if (!result.ContainsKey(id))
                            result[id] = new List<Root>();
                        break;
                    case "D":
                        inThread = false;
                        break;
                    case "E":
                        warn("thread " + id + ": stack roots unreadable (" + (f.Length > 2 ? f[2] : "") + ")");
                        break;
                    case "R":
                        if (f.Length < 9 || !result.TryGetValue(id, out List<Root> list))
                            break;
                        list.Add(new Root {
                            Sp = ulong.Parse(f[2], NumberStyles.HexNumber), Ip = ulong.Parse(f[3], NumberStyles.HexNumber),
                            Slot = ulong.Parse(f[4], NumberStyles.HexNumber), Object = ulong.Parse(f[5], NumberStyles.HexNumber),
                            Pinned = f[6] == "1", Interior = f[7] == "1", Function = f[8] });
                        break;
                    }
                }
                if (!p.WaitForExit(120000)) {
                    p.Kill();
                    warn("the stack walk did not finish in 2 minutes; stack roots are incomplete");
                    return result;
                }
                if (p.ExitCode == 0)
                    return result;
                if (p.ExitCode == 2 && started == 0) {
                    warn("no stack roots: " + err.Trim());
                    return result;
                }
                if (inThread)
                    warn("thread " + open + ": the runtime's stack walker crashed on it; its stack roots are partial");
                if (started == 0) {
                    warn("the runtime's stack walker crashed; stack roots of the remaining threads are missing");
                    return result;
                }
                skip += started;
            }
            return result;
        }
    }
}
