// Program.cs - a tiny .NET heap with known contents for dumpfmt/test/test_dotnet.c (the converter's smoke test).
// Owns: the truths it prints (counts, a marker object's field values, a static event's subscribers).
using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading;

namespace Smoke
{
    public class Node { public int Value; public string Name; public Node Next; }
    public class Marker { public long Id; public string Text; public double Ratio; }
    public class Sub { public int Id; public void On(object s, EventArgs e) { } }
    public class Kept { public int Key; }
    public class Doomed { ~Doomed() { } }
    public class PerThreadBox { public string Text; }
    public class Attached { public int Tag; }
    public class Publisher { public event EventHandler Fired; public void Fire() => Fired?.Invoke(this, EventArgs.Empty); }
    public class Listener { public void On(object s, EventArgs e) { } }

    public static class Holder
    {
        public static List<Node> Nodes = new List<Node>();
        public static Marker Mark;
        public static Dictionary<string, Kept> ByName = new Dictionary<string, Kept>();
        [ThreadStatic] public static PerThreadBox PerThread;
        public static Doomed[] Finalizable;
        public static Publisher Pub = new Publisher();
        public static Marker CwtKey = new Marker { Id = 1, Text = "cwt-key" };
        public static ConditionalWeakTable<Marker, Attached> Cwt = new ConditionalWeakTable<Marker, Attached>();
        public static event EventHandler Changed;
        public static void Raise() => Changed?.Invoke(null, EventArgs.Empty);
    }

    public static class Program
    {
        public static int Main()
        {
            for (int i = 0; i < 100; i++)
                Holder.Nodes.Add(new Node { Value = i, Name = "n" + i });
            for (int i = 0; i < 10; i++) {
                var s = new Sub { Id = i };
                Holder.Changed += s.On;
            }
            Holder.Mark = new Marker { Id = 4242, Text = "marker-text", Ratio = 0.5 };
            for (int i = 0; i < 5; i++)
                Holder.ByName["k" + i] = new Kept { Key = i }; // held only through Dictionary entries (structs)
            Holder.PerThread = new PerThreadBox { Text = "per-thread" };
            Holder.Finalizable = new Doomed[] { new Doomed(), new Doomed(), new Doomed() }; // on the finalization queue
            for (int i = 0; i < 3; i++)
                Holder.Pub.Fired += new Listener().On; // an instance event with 3 subscribers
            Holder.Cwt.Add(Holder.CwtKey, new Attached { Tag = 5 }); // a dependent handle: key -> value
            var worker = new Thread(() => Thread.Sleep(Timeout.Infinite)) { Name = "smoke-worker", IsBackground = true };
            worker.Start();
            Console.WriteLine("truth thread smoke-worker");
            Console.WriteLine("truth Smoke.Node 100");
            Console.WriteLine("truth Smoke.Sub 10");
            Console.WriteLine("truth event static Smoke.Holder.Changed 10");
            Console.WriteLine("truth event instance Smoke.Publisher.Fired 3");
            Console.WriteLine("truth Smoke.Marker 2");
            Console.WriteLine("truth handle dependent Smoke.Marker");
            Console.WriteLine("truth Smoke.Doomed 3");
            Console.WriteLine("truth Smoke.Kept 5");
            if (Environment.GetEnvironmentVariable("SMOKE_CRASH") == "1") // the crash test: an unhandled exception
                throw new InvalidOperationException("smoke crash with a known heap");
            Console.WriteLine("ready " + Environment.ProcessId);
            Console.Out.Flush();
            Console.ReadLine(); // the test closes stdin when it is done
            GC.KeepAlive(Holder.Nodes);
            GC.KeepAlive(Holder.PerThread);
            return 0;
        }
    }
}
