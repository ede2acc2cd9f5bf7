// Finalizers.cs - the `finalizers` scenario: a finalizer that blocks, then 1,000 dead finalizable objects queued behind it.
// Owns: Heaps.Blocker, Heaps.Resource, Heaps.LiveResource, Heaps.LiveResources and the finalization truths.
using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading;

namespace Heaps
{
    // Its finalizer holds the finalizer thread until the scenario ends, so what the
    // GC queues behind it stays on the f-reachable queue while the dump is taken.
    internal sealed class Blocker
    {
        public static readonly ManualResetEventSlim Entered = new ManualResetEventSlim(false);
        public static readonly ManualResetEventSlim Leave = new ManualResetEventSlim(false);

        ~Blocker()
        {
            Entered.Set();
            Leave.Wait();
        }
    }

    internal sealed class Resource
    {
        public long Handle;
        public Resource(long h) { Handle = h; }
        ~Resource() { Handle = 0; }
    }

    internal sealed class LiveResource
    {
        public long Handle;
        public LiveResource(long h) { Handle = h; }
        ~LiveResource() { Handle = 0; }
    }

    internal static class LiveResources
    {
        public static List<LiveResource> All = new List<LiveResource>();
    }

    internal static class Finalizers
    {
        public const int Ready = 1000, Registered = 300;
        private static bool built;

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static void MakeBlocker() { new Blocker(); }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static void MakeResources()
        {
            for (int i = 0; i < Ready; i++)
                new Resource(i);
            for (int i = 0; i < Registered; i++)
                LiveResources.All.Add(new LiveResource(i));
        }

        public static void Build()
        {
            built = true;
            MakeBlocker();
            GC.Collect();
            if (!Blocker.Entered.Wait(TimeSpan.FromSeconds(60)))
                throw new InvalidOperationException("the finalizer thread never ran Blocker's finalizer");
            MakeResources();
            GC.Collect();   // the 1,000 dead Resources go to the f-reachable queue, behind the blocked finalizer
            GC.Collect();   // and are promoted again: still there

            Truth.Put("freachable." + typeof(Resource).FullName, Ready);
            Truth.Put("freachable." + typeof(LiveResource).FullName, 0);
            Truth.Put("registered." + typeof(LiveResource).FullName, Registered);
            Truth.Put("registered." + typeof(Resource).FullName, 0);
            Truth.Put("count." + typeof(Resource).FullName, Ready);
            Truth.Put("count." + typeof(LiveResource).FullName, Registered);
            Truth.Put("count." + typeof(Blocker).FullName, 1);
        }

        public static void Release()
        {
            if (built)
                Blocker.Leave.Set();
        }
    }
}
